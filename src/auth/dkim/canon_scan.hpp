// auth/dkim/canon_scan.hpp: the scans behind relaxed canonicalization.
//
// Internal to the dkim module (not part of dkim.hpp); exposed so the tests
// can compare the vector scans with the scalar ones.
//
// Relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4) leaves most bytes
// alone: a single SP between two other characters is already canonical. The
// scans find the next byte where the algorithm may have to change something,
// so everything before it is passed through in one piece.
//
// find_relaxed_body_work(p, n, from): the first index i in [from, n) where
//   p[i] is a HTAB, or p[i] is a SP followed by SP, HTAB or CR; n if none.
//   (A body line ends only at CRLF, so a lone LF is data.)
// find_relaxed_header_work(p, n, from): the first index i in [from, n) where
//   p[i] is a HTAB, CR or LF, or p[i] is a SP that is last or followed by SP,
//   HTAB, CR or LF; n if none.
// Both read only p[0, n).
#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MXSEC_DKIM_SCAN_AVX2 1
#endif

namespace mxsec::auth::dkim::detail {

template <bool kHeader>
std::size_t find_relaxed_work_scalar(const char* p, std::size_t n, std::size_t i) {
  for (; i < n; ++i) {
    const char c = p[i];
    if (c == '\t') return i;
    if (kHeader && (c == '\r' || c == '\n')) return i;
    if (c == ' ') {
      if (i + 1 == n) {
        if (kHeader) return i;
        continue;
      }
      const char d = p[i + 1];
      if (d == ' ' || d == '\t' || d == '\r' || (kHeader && d == '\n')) return i;
    }
  }
  return n;
}

#if defined(MXSEC_DKIM_SCAN_AVX2)
// The same test as below on 32 positions per step, compiled for AVX2 and
// used only when the CPU has it (checked once, see has_avx2()). Stops where
// fewer than 33 bytes remain, returning that position: the caller finishes
// with the SSE2/scalar scan.
template <bool kHeader>
__attribute__((target("avx2"))) std::size_t find_relaxed_work_avx2(const char* p, std::size_t n, std::size_t i) {
  const __m256i sp = _mm256_set1_epi8(' ');
  const __m256i tab = _mm256_set1_epi8('\t');
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i lf = _mm256_set1_epi8('\n');
  while (i < n && n - i >= 33) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 1));
    __m256i next =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(b, sp), _mm256_cmpeq_epi8(b, tab)), _mm256_cmpeq_epi8(b, cr));
    __m256i self = _mm256_cmpeq_epi8(a, tab);
    if constexpr (kHeader) {
      next = _mm256_or_si256(next, _mm256_cmpeq_epi8(b, lf));
      self = _mm256_or_si256(self, _mm256_or_si256(_mm256_cmpeq_epi8(a, cr), _mm256_cmpeq_epi8(a, lf)));
    }
    const __m256i hit = _mm256_or_si256(self, _mm256_and_si256(_mm256_cmpeq_epi8(a, sp), next));
    const unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(hit));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
    i += 32;
  }
  return i;
}

inline bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

template <bool kHeader>
std::size_t find_relaxed_work(const char* p, std::size_t n, std::size_t i) {
#if defined(MXSEC_DKIM_SCAN_AVX2)
  // Worth the dispatch only on long stretches (bodies); headers are short.
  // It returns a hit or where it stopped; in both cases the scan below
  // continues from there (and returns a hit at once).
  if (!kHeader && i < n && n - i >= 256 && has_avx2()) i = find_relaxed_work_avx2<kHeader>(p, n, i);
#endif
#if defined(__SSE2__)
  // 16 positions per step; the second load (one byte further) gives each
  // position its successor, so it needs 17 readable bytes. SSE2 is part of
  // x86-64, so there is no run-time check.
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (i < n && n - i >= 17) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    __m128i next = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, sp), _mm_cmpeq_epi8(b, tab)), _mm_cmpeq_epi8(b, cr));
    __m128i self = _mm_cmpeq_epi8(a, tab);
    if constexpr (kHeader) {
      next = _mm_or_si128(next, _mm_cmpeq_epi8(b, lf));
      self = _mm_or_si128(self, _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf)));
    }
    const __m128i hit = _mm_or_si128(self, _mm_and_si128(_mm_cmpeq_epi8(a, sp), next));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  return find_relaxed_work_scalar<kHeader>(p, n, i);
}

inline std::size_t find_relaxed_body_work(const char* p, std::size_t n, std::size_t i) {
  return find_relaxed_work<false>(p, n, i);
}
inline std::size_t find_relaxed_header_work(const char* p, std::size_t n, std::size_t i) {
  return find_relaxed_work<true>(p, n, i);
}

}  // namespace mxsec::auth::dkim::detail
