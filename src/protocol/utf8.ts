/** Length in bytes of `s` encoded as UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length
  // Most text is ASCII: one native scan says so. The loop in JS over every character was the
  // largest part of the client's own time in a burst of 100-byte messages (bench profile).
  if (/[^\0-\x7f]/.test(s))
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) n += c < 0x800 ? 1 : 2
      // A surrogate pair is 2 UTF-16 units and 4 bytes: skip the low half. (Past the end,
      // charCodeAt gives NaN, which is no low half.)
      if ((c & 0xfc00) == 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) i++
    }
  return n
}
