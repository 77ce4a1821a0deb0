#pragma once
// The shortest decimal text of a float32 that reads back as the same float, written exactly as
// std::to_chars(first, last, v) writes it (fixed or scientific, whichever is shorter, fixed on a
// tie; a whole number of 2^23 or more by its exact digits, as printf("%.0f")), about 1.5x faster
// (Schubfach instead of libstdc++'s Ryu and its format choice). `attend serve` writes every
// forecast value with it (docs/benchmarks.md, serving section).
namespace attend::cli::serve {

// Writes finite `v` at `out` (room for 24 bytes: the text is at most 15, but 8 bytes are stored
// at a time) and returns the end of the text.
char* write_shortest(char* out, float v);

}  // namespace attend::cli::serve
