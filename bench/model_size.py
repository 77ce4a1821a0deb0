"""Model-size flags shared by the speed scripts (attend_models.py, torch_models.py,
compare_torch.py): TSLib run.py's names and defaults, declared once so that every side times the
same configuration."""

FLAGS = [("seq_len", int, 96), ("label_len", int, 48), ("pred_len", int, 96),
         ("d_model", int, 512), ("n_heads", int, 8), ("e_layers", int, 2), ("d_layers", int, 1),
         ("d_ff", int, 2048), ("factor", int, 1), ("dropout", float, 0.1), ("moving_avg", int, 25)]


def add_arguments(parser):
    """Adds --seq_len ... --moving_avg to an argparse parser."""
    for name, kind, default in FLAGS:
        parser.add_argument(f"--{name}", type=kind, default=default)


def as_args(a):
    """The parsed values as command-line flags, to pass the same sizes on to another script."""
    out = []
    for name, _, _ in FLAGS:
        out += [f"--{name}", str(getattr(a, name))]
    return out
