//! A `const fn` implementation of BLAKE3 (default hash mode, 32-byte output).
//!
//! Why this exists: a workflow's definition hash must be a compile-time
//! `const`, and it covers the hashes of the tasks and child workflows it calls.
//! Those are themselves `const`s emitted by *other* macro expansions, so a proc
//! macro cannot see their values; the final combination has to happen in const
//! evaluation. The `blake3` crate is not `const`, hence this small, portable
//! implementation of the spec (chunk state, block buffer and chaining-value
//! stack), streamed byte by byte so that [`blake3_parts`] never allocates.
//!
//! Speed is not a goal: it only runs on short inputs at compile time (and in
//! tests, where it is checked against the official `blake3` crate).

const OUT_LEN: usize = 32;
const BLOCK_LEN: usize = 64;
const CHUNK_LEN: usize = 1024;
const BLOCKS_PER_CHUNK: usize = CHUNK_LEN / BLOCK_LEN;
/// Enough for 2^54 chunks, i.e. 2^64 bytes of input.
const MAX_DEPTH: usize = 54;

const CHUNK_START: u32 = 1 << 0;
const CHUNK_END: u32 = 1 << 1;
const PARENT: u32 = 1 << 2;
const ROOT: u32 = 1 << 3;

const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

const MSG_PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/// The quarter-round mixing function `G`.
const fn g(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize, mx: u32, my: u32) {
    s[a] = s[a].wrapping_add(s[b]).wrapping_add(mx);
    s[d] = (s[d] ^ s[a]).rotate_right(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_right(12);
    s[a] = s[a].wrapping_add(s[b]).wrapping_add(my);
    s[d] = (s[d] ^ s[a]).rotate_right(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_right(7);
}

const fn round(s: &mut [u32; 16], m: &[u32; 16]) {
    // Columns.
    g(s, 0, 4, 8, 12, m[0], m[1]);
    g(s, 1, 5, 9, 13, m[2], m[3]);
    g(s, 2, 6, 10, 14, m[4], m[5]);
    g(s, 3, 7, 11, 15, m[6], m[7]);
    // Diagonals.
    g(s, 0, 5, 10, 15, m[8], m[9]);
    g(s, 1, 6, 11, 12, m[10], m[11]);
    g(s, 2, 7, 8, 13, m[12], m[13]);
    g(s, 3, 4, 9, 14, m[14], m[15]);
}

/// The compression function; returns the full 16-word state.
const fn compress(
    cv: &[u32; 8],
    block: &[u32; 16],
    counter: u64,
    block_len: u32,
    flags: u32,
) -> [u32; 16] {
    let mut s = [0u32; 16];
    let mut i = 0;
    while i < 8 {
        s[i] = cv[i];
        i += 1;
    }
    s[8] = IV[0];
    s[9] = IV[1];
    s[10] = IV[2];
    s[11] = IV[3];
    s[12] = counter as u32; // low and high words of the 64-bit counter
    s[13] = (counter >> 32) as u32;
    s[14] = block_len;
    s[15] = flags;
    let mut m = *block;
    let mut r = 0;
    while r < 7 {
        round(&mut s, &m);
        if r < 6 {
            let mut permuted = [0u32; 16];
            let mut i = 0;
            while i < 16 {
                permuted[i] = m[MSG_PERMUTATION[i]];
                i += 1;
            }
            m = permuted;
        }
        r += 1;
    }
    i = 0;
    while i < 8 {
        s[i] ^= s[i + 8];
        s[i + 8] ^= cv[i];
        i += 1;
    }
    s
}

const fn first_8_words(words: &[u32; 16]) -> [u32; 8] {
    [
        words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7],
    ]
}

const fn words_from_le_bytes(bytes: &[u8; BLOCK_LEN]) -> [u32; 16] {
    let mut words = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        words[i] = u32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]);
        i += 1;
    }
    words
}

/// A not-yet-compressed node of the tree: a chunk's last block or a parent.
/// It becomes either a chaining value or, with the `ROOT` flag, the output.
struct Output {
    cv: [u32; 8],
    block: [u32; 16],
    counter: u64,
    block_len: u32,
    flags: u32,
}

impl Output {
    const fn parent(left: &[u32; 8], right: &[u32; 8]) -> Self {
        let mut block = [0u32; 16];
        let mut i = 0;
        while i < 8 {
            block[i] = left[i];
            block[i + 8] = right[i];
            i += 1;
        }
        Output {
            cv: IV,
            block,
            counter: 0,
            block_len: BLOCK_LEN as u32,
            flags: PARENT,
        }
    }

    const fn chaining_value(&self) -> [u32; 8] {
        first_8_words(&compress(
            &self.cv,
            &self.block,
            self.counter,
            self.block_len,
            self.flags,
        ))
    }

    const fn root_hash(&self) -> [u8; OUT_LEN] {
        let words = compress(&self.cv, &self.block, 0, self.block_len, self.flags | ROOT);
        let mut out = [0u8; OUT_LEN];
        let mut i = 0;
        while i < OUT_LEN / 4 {
            let bytes = words[i].to_le_bytes();
            out[4 * i] = bytes[0];
            out[4 * i + 1] = bytes[1];
            out[4 * i + 2] = bytes[2];
            out[4 * i + 3] = bytes[3];
            i += 1;
        }
        out
    }
}

/// Incremental hasher: the current chunk's state plus the stack of chaining
/// values of completed subtrees.
struct Hasher {
    /// Chaining value of the current chunk (after its compressed blocks).
    chunk_cv: [u32; 8],
    /// Index of the current chunk.
    chunk_counter: u64,
    /// Blocks of the current chunk already compressed into `chunk_cv`.
    blocks_compressed: usize,
    /// The current (last seen) block, zero-padded past `block_len`.
    block: [u8; BLOCK_LEN],
    block_len: usize,
    cv_stack: [[u32; 8]; MAX_DEPTH],
    cv_stack_len: usize,
}

impl Hasher {
    const fn new() -> Self {
        Hasher {
            chunk_cv: IV,
            chunk_counter: 0,
            blocks_compressed: 0,
            block: [0; BLOCK_LEN],
            block_len: 0,
            cv_stack: [[0; 8]; MAX_DEPTH],
            cv_stack_len: 0,
        }
    }

    const fn start_flag(&self) -> u32 {
        if self.blocks_compressed == 0 {
            CHUNK_START
        } else {
            0
        }
    }

    /// The current chunk as a tree node (its last block is still buffered).
    const fn chunk_output(&self) -> Output {
        Output {
            cv: self.chunk_cv,
            block: words_from_le_bytes(&self.block),
            counter: self.chunk_counter,
            block_len: self.block_len as u32,
            flags: self.start_flag() | CHUNK_END,
        }
    }

    /// Pushes a finished chunk's CV, first merging every completed subtree:
    /// after `total_chunks` chunks, there is one stack entry per 1 bit.
    const fn add_chunk_cv(&mut self, cv: [u32; 8], mut total_chunks: u64) {
        let mut cv = cv;
        while total_chunks & 1 == 0 {
            self.cv_stack_len -= 1;
            cv = Output::parent(&self.cv_stack[self.cv_stack_len], &cv).chaining_value();
            total_chunks >>= 1;
        }
        self.cv_stack[self.cv_stack_len] = cv;
        self.cv_stack_len += 1;
    }

    /// Called when a full block is buffered and more input follows, so it is
    /// known not to be the root: compress it, finishing the chunk if needed.
    const fn flush_block(&mut self) {
        if self.blocks_compressed + 1 == BLOCKS_PER_CHUNK {
            let cv = self.chunk_output().chaining_value();
            self.add_chunk_cv(cv, self.chunk_counter + 1);
            self.chunk_counter += 1;
            self.chunk_cv = IV;
            self.blocks_compressed = 0;
        } else {
            let words = words_from_le_bytes(&self.block);
            self.chunk_cv = first_8_words(&compress(
                &self.chunk_cv,
                &words,
                self.chunk_counter,
                BLOCK_LEN as u32,
                self.start_flag(),
            ));
            self.blocks_compressed += 1;
        }
        self.block = [0; BLOCK_LEN];
        self.block_len = 0;
    }

    const fn update(&mut self, input: &[u8]) {
        let mut i = 0;
        while i < input.len() {
            if self.block_len == BLOCK_LEN {
                self.flush_block();
            }
            self.block[self.block_len] = input[i];
            self.block_len += 1;
            i += 1;
        }
    }

    const fn finalize(&self) -> [u8; OUT_LEN] {
        let mut output = self.chunk_output();
        let mut remaining = self.cv_stack_len;
        while remaining > 0 {
            remaining -= 1;
            output = Output::parent(&self.cv_stack[remaining], &output.chaining_value());
        }
        output.root_hash()
    }
}

/// BLAKE3 hash (default mode, 32-byte output) of `input`, usable in `const`
/// contexts. Same result as `blake3::hash(input)`.
#[must_use]
pub const fn blake3(input: &[u8]) -> [u8; 32] {
    blake3_parts(&[input])
}

/// BLAKE3 hash of the concatenation of `parts`, computed without allocating
/// and usable in `const` contexts. Same result as `blake3::hash(&parts.concat())`.
#[must_use]
pub const fn blake3_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Hasher::new();
    let mut i = 0;
    while i < parts.len() {
        hasher.update(parts[i]);
        i += 1;
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::{blake3, blake3_parts};

    const LENGTHS: [usize; 15] = [
        0,
        1,
        63,
        64,
        65,
        1023,
        1024,
        1025,
        2048,
        2049,
        3072,
        4096,
        5000,
        10_000,
        31_744 + 1,
    ];

    fn input(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn reference(input: &[u8]) -> [u8; 32] {
        *::blake3::hash(input).as_bytes()
    }

    #[test]
    fn matches_official_crate() {
        for len in LENGTHS {
            let data = input(len);
            assert_eq!(blake3(&data), reference(&data), "len {len}");
        }
    }

    #[test]
    fn parts_match_concatenation() {
        for len in LENGTHS {
            let data = input(len);
            let expected = reference(&data);
            let mut points = vec![
                0,
                1,
                63,
                64,
                65,
                1024,
                1025,
                len / 2,
                len.saturating_sub(1),
                len,
            ];
            points.retain(|&p| p <= len);
            for &a in &points {
                for &b in &points {
                    if a > b {
                        continue;
                    }
                    let (head, rest) = data.split_at(a);
                    let (mid, tail) = rest.split_at(b - a);
                    let parts: [&[u8]; 5] = [head, &[], mid, tail, &[]];
                    assert_eq!(
                        blake3_parts(&parts),
                        expected,
                        "len {len}, split at {a} and {b}"
                    );
                }
            }
            // Every byte in its own part.
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            assert_eq!(blake3_parts(&bytes), expected, "len {len}, byte by byte");
        }
        assert_eq!(blake3_parts(&[]), reference(b""));
    }

    #[test]
    fn empty_input_official_vector() {
        let expected: [u8; 32] = [
            0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc,
            0xc9, 0x49, 0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca,
            0xe4, 0x1f, 0x32, 0x62,
        ];
        assert_eq!(blake3(b""), expected);
    }

    #[test]
    fn usable_in_const() {
        const H: [u8; 32] = blake3(b"abc");
        const CHILD: [u8; 32] = blake3(b"child");
        const P: [u8; 32] = blake3_parts(&[b"canonical", &CHILD, b""]);
        // A multi-chunk input, to exercise the CV stack in const evaluation.
        const BIG: [u8; 3000] = [7; 3000];
        const HB: [u8; 32] = blake3(&BIG);
        assert_eq!(H, reference(b"abc"));
        assert_eq!(P, reference(&[b"canonical".as_slice(), &CHILD].concat()));
        assert_eq!(HB, reference(&BIG));
    }
}
