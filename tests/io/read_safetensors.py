"""Independent safetensors reader (struct + json + numpy) used by attend's io tests.

Usage: read_safetensors.py FILE  ->  prints JSON {header_length, metadata, tensors: {name: {dtype,
shape, data_offsets, bits}}} where bits are the raw little-endian element values as unsigned
integers (for integer dtypes: the values themselves). Also checks what attend's writer promises:
N % 8 == 0, JSON followed only by spaces, keys in sorted order with contiguous offsets covering
the data section, and str -> str metadata. Exits non-zero with a message on any violation.
"""
import json, struct, sys
import numpy as np

RAW = {"F64": "<u8", "F32": "<u4", "F16": "<u2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
       "I16": "<i2", "I8": "<i1", "U8": "<u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "<u1"}

path = sys.argv[1]
blob = open(path, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
text = blob[8:8 + n].decode("utf-8")
assert n % 8 == 0, f"header length {n} is not a multiple of 8"
assert text.rstrip(" ").endswith("}"), "header must be a JSON object followed only by spaces"
header = json.loads(text)
meta = header.pop("__metadata__", {})
assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), "metadata not str->str"
data = blob[8 + n:]
out, pos = {}, 0
for name in sorted(header):
    e = header[name]
    begin, end = e["data_offsets"]
    assert begin == pos, f"{name}: offsets {begin} != expected {pos}"
    arr = np.frombuffer(data[begin:end], dtype=np.dtype(RAW[e["dtype"]]))
    assert arr.size == int(np.prod(e["shape"], dtype=np.int64)), f"{name}: size mismatch"
    out[name] = {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": [begin, end],
                 "bits": [int(x) for x in arr]}
    pos = end
assert pos == len(data), f"data section has {len(data)} bytes, tensors cover {pos}"
print(json.dumps({"header_length": n, "metadata": meta, "tensors": out}, ensure_ascii=False))
