#include "float_text.h"

#include <cstdint>
#include <cstring>

namespace attend::cli::serve {

namespace {

// Schubfach (R. Giulietti, "The Schubfach way to render doubles", 2020; binary32 as in
// A. Bolz's drachennest): v = c * 2^q has the rounding interval [c - 1/2, c + 1/2] * 2^q (the
// lower half-gap 1/4 at a power of two), bounds included when c is even. With k =
// floor(log10(2^q)) (of 3/4 * 2^q at a power of two), the interval scaled by 10^-k holds
// 4-times-scaled integers vbl < vb < vbr, computed by one 64 x 32-bit product each, rounded to
// odd; the shortest decimal in it is s = vb / 4 or s + 1, or s / 10 (or + 1) one digit shorter.
// kG[e + 31] = floor(10^e * 2^(63 - floor(log2(10^e)))) + 1, e in [-31, 45] (10^-k for every
// float's k).
constexpr uint64_t kG[] = {
    0x81CEB32C4B43FCF5, 0xA2425FF75E14FC32, 0xCAD2F7F5359A3B3F, 0xFD87B5F28300CA0E,
    0x9E74D1B791E07E49, 0xC612062576589DDB, 0xF79687AED3EEC552, 0x9ABE14CD44753B53,
    0xC16D9A0095928A28, 0xF1C90080BAF72CB2, 0x971DA05074DA7BEF, 0xBCE5086492111AEB,
    0xEC1E4A7DB69561A6, 0x9392EE8E921D5D08, 0xB877AA3236A4B44A, 0xE69594BEC44DE15C,
    0x901D7CF73AB0ACDA, 0xB424DC35095CD810, 0xE12E13424BB40E14, 0x8CBCCC096F5088CC,
    0xAFEBFF0BCB24AAFF, 0xDBE6FECEBDEDD5BF, 0x89705F4136B4A598, 0xABCC77118461CEFD,
    0xD6BF94D5E57A42BD, 0x8637BD05AF6C69B6, 0xA7C5AC471B478424, 0xD1B71758E219652C,
    0x83126E978D4FDF3C, 0xA3D70A3D70A3D70B, 0xCCCCCCCCCCCCCCCD, 0x8000000000000001,
    0xA000000000000001, 0xC800000000000001, 0xFA00000000000001, 0x9C40000000000001,
    0xC350000000000001, 0xF424000000000001, 0x9896800000000001, 0xBEBC200000000001,
    0xEE6B280000000001, 0x9502F90000000001, 0xBA43B74000000001, 0xE8D4A51000000001,
    0x9184E72A00000001, 0xB5E620F480000001, 0xE35FA931A0000001, 0x8E1BC9BF04000001,
    0xB1A2BC2EC5000001, 0xDE0B6B3A76400001, 0x8AC7230489E80001, 0xAD78EBC5AC620001,
    0xD8D726B7177A8001, 0x878678326EAC9001, 0xA968163F0A57B401, 0xD3C21BCECCEDA101,
    0x84595161401484A1, 0xA56FA5B99019A5C9, 0xCECB8F27F4200F3B, 0x813F3978F8940985,
    0xA18F07D736B90BE6, 0xC9F2C9CD04674EDF, 0xFC6F7C4045812297, 0x9DC5ADA82B70B59E,
    0xC5371912364CE306, 0xF684DF56C3E01BC7, 0x9A130B963A6C115D, 0xC097CE7BC90715B4,
    0xF0BDC21ABB48DB21, 0x96769950B50D88F5, 0xBC143FA4E250EB32, 0xEB194F8E1AE525FE,
    0x92EFD1B8D0CF37BF, 0xB7ABC627050305AE, 0xE596B7B0C643C71A, 0x8F7E32CE7BEA5C70,
    0xB35DBF821AE4F38C};

int floor_log2_pow10(int e) {
  return (e * 1741647) >> 19;
}
int floor_log10_pow2(int e) {
  return (e * 1262611) >> 22;
}
int floor_log10_three_quarters_pow2(int e) {
  return (e * 1262611 - 524031) >> 22;
}

// g * cp / 2^64, rounded to odd.
uint32_t round_to_odd(uint64_t g, uint32_t cp) {
  const unsigned __int128 p = static_cast<unsigned __int128>(g) * cp;
  const auto y1 = static_cast<uint32_t>(p >> 64), y0 = static_cast<uint32_t>(p >> 32);
  return y1 | (y0 > 1);
}

struct Decimal {
  uint32_t digits;
  int exponent;  // the value is digits * 10^exponent
};

// The shortest decimal of the positive finite float with these bits (the closest to it of
// those, ties to even digits), possibly with trailing zeros.
Decimal shortest(uint32_t bits) {
  const uint32_t fraction = bits & 0x7FFFFF, biased = bits >> 23;
  const uint32_t c = biased ? fraction | 0x800000 : fraction;
  const int q = biased ? static_cast<int>(biased) - 150 : -149;
  const bool even = c % 2 == 0;
  const bool lower_closer = fraction == 0 && biased > 1;
  const uint32_t cbl = 4 * c - 2 + lower_closer, cb = 4 * c, cbr = 4 * c + 2;
  const int k = lower_closer ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
  const int h = q + floor_log2_pow10(-k) + 1;
  const uint64_t g = kG[-k + 31];
  const uint32_t vbl = round_to_odd(g, cbl << h), vb = round_to_odd(g, cb << h),
                 vbr = round_to_odd(g, cbr << h);
  const uint32_t lower = vbl + !even, upper = vbr - !even;
  const uint32_t s = vb / 4;
  if (s >= 10) {  // one digit fewer: s / 10 or s / 10 + 1, when exactly one is in the interval
    const uint32_t sp = s / 10;
    const bool up_inside = lower <= 40 * sp, wp_inside = 40 * sp + 40 <= upper;
    if (up_inside != wp_inside) return {sp + wp_inside, k + 1};
  }
  const bool u_inside = lower <= 4 * s, w_inside = 4 * s + 4 <= upper;
  if (u_inside != w_inside) return {s + w_inside, k};
  const uint32_t mid = 4 * s + 2;
  const bool up = vb > mid || (vb == mid && (s & 1) != 0);
  return {s + up, k};
}

// "00" "01" ... "99"
constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// The last n decimal digits of x at out[0, n), leading zeros included.
void put_digits(char* out, uint32_t x, int n) {
  char* p = out + n;
  for (; p - out >= 2; x /= 100) {
    p -= 2;
    std::memcpy(p, kPairs + 2 * (x % 100), 2);
  }
  if (p != out) *out = static_cast<char>('0' + x % 10);
}

// x < 10^8 as 8 ASCII digits in a word, the first in its low byte (text order in memory): the
// divisions by 10^4, 100 and 10 done in 32-, 16- and 8-bit lanes at once (x * 10486 >> 20 is
// x / 100 for x < 10^4, x * 103 >> 10 is x / 10 for x < 100).
uint64_t eight_digits(uint32_t x) {
  uint64_t v = x / 10000 | static_cast<uint64_t>(x % 10000) << 32;
  const uint64_t hundreds = (v * 10486 >> 20) & 0x0000007F0000007F;
  v = hundreds | (v - 100 * hundreds) << 16;
  const uint64_t tens = (v * 103 >> 10) & 0x000F000F000F000F;
  v = tens | (v - 10 * tens) << 8;
  return v | 0x3030303030303030;
}

// The n significant digits of x < 10^9 (n <= 9), written from registers: no load of bytes just
// stored (a load spanning several recent stores waits for them).
struct Digits {
  Digits(uint32_t x, int n) : n(n), low(eight_digits(x % 100000000)), top('0' + x / 100000000) {
    if (n < 9) low >>= 8 * (8 - n);  // the n digits, in order, in the low bytes
  }
  // The digits at out (8 bytes stored after them).
  void put(char* out) const {
    if (n == 9) *out++ = top;
    std::memcpy(out, &low, 8);
  }
  // The digits from the k-th (0 < k < n) as a word, in order.
  uint64_t from(int k) const { return n == 9 ? low >> (8 * (k - 1)) : low >> (8 * k); }
  int n;
  uint64_t low;  // the last min(n, 8) digits
  char top;      // the first when n is 9
};

int digit_count(uint32_t x) {
  return 1 + (x >= 10) + (x >= 100) + (x >= 1000) + (x >= 10000) + (x >= 100000) + (x >= 1000000) +
         (x >= 10000000) + (x >= 100000000);
}

}  // namespace

char* write_shortest(char* out, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  if (bits >> 31) *out++ = '-';
  bits &= 0x7FFFFFFF;
  if (bits == 0) {
    *out = '0';
    return out + 1;
  }
  Decimal d = shortest(bits);
  while (d.digits % 10 == 0) {
    d.digits /= 10;
    ++d.exponent;
  }
  const int n = digit_count(d.digits);
  const int point = n + d.exponent;  // digits before the decimal point in fixed notation
  const int e10 = point - 1;         // the exponent in scientific notation
  const int sci = n + (n > 1) + (e10 <= -100 || e10 >= 100 ? 5 : 4);
  const int fixed = d.exponent >= 0 ? n + d.exponent : point > 0 ? n + 1 : 2 - d.exponent;
  const Digits digits(d.digits, n);
  if (fixed <= sci) {  // so exponent in [-3 - (n > 1), 4 + (n > 1)]
    if (d.exponent > 0 && bits >= 0x4B000000) {
      // |v| >= 2^23, a whole number: its own digits, as printf("%.0f") and std::to_chars write
      // it (the shortest digits padded with zeros would read back as v too)
      float a;
      std::memcpy(&a, &bits, sizeof(a));
      const auto x = static_cast<uint64_t>(a);  // < 10^14: n + exponent <= 14 digits
      const int w = n + d.exponent;
      if (w > 8) {
        put_digits(out, static_cast<uint32_t>(x / 100000000), w - 8);
        put_digits(out + w - 8, static_cast<uint32_t>(x % 100000000), 8);
      } else {
        put_digits(out, static_cast<uint32_t>(x), w);
      }
      return out + w;
    }
    if (d.exponent >= 0) {  // digits, zeros
      digits.put(out);
      std::memcpy(out + n, "00000000", 8);
      return out + n + d.exponent;
    }
    if (point > 0) {  // digits, point, digits
      digits.put(out);
      out[point] = '.';
      const uint64_t fraction = digits.from(point);
      std::memcpy(out + point + 1, &fraction, 8);
      return out + n + 1;
    }
    std::memcpy(out, "0.000000", 8);  // 0.0..0digits
    digits.put(out + 2 - point);
    return out + 2 - point + n;
  }
  digits.put(out + 1);  // d.ddde+XX
  out[0] = out[1];
  out[1] = '.';
  out += n > 1 ? n + 1 : 1;
  *out++ = 'e';
  *out++ = e10 < 0 ? '-' : '+';
  unsigned a = static_cast<unsigned>(e10 < 0 ? -e10 : e10);
  if (a >= 100) {
    *out++ = static_cast<char>('0' + a / 100);
    a %= 100;
  }
  std::memcpy(out, kPairs + 2 * a, 2);
  return out + 2;
}

}  // namespace attend::cli::serve
