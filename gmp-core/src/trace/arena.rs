//! The memory of a runtime's trace chunks: 2 MiB blocks cut into page-aligned chunks, whose
//! pages are faulted in a chunk at a time and given back to the kernel when a trace no longer
//! needs them.
//!
//! Why not one allocation per chunk: a page-aligned 16 KiB `alloc` costs glibc's `memalign`
//! about 20 KiB (a quarter more pages to fault in), and a trace's memory is most of its cost
//! (a page fault on a VM is about 1.7 µs, more than the events of a 4 KiB page take to
//! record). Why not `mmap` per chunk: a long trace would make tens of thousands of mappings
//! (Linux allows 65,530 by default).
//!
//! The arena hands out chunk memory ([`Arena::take`]) and never frees it before the runtime
//! goes ([`Drop`]): chunks are reused through the trace's free lists (`buf.rs`), and one that
//! is not needed soon has its pages given back with [`release`] (`MADV_DONTNEED`), keeping
//! its addresses for a later session.

use std::alloc::Layout;
use std::ptr::NonNull;

/// Bytes per block: 128 chunks of 16 KiB. Only the chunks handed out are faulted in.
const BLOCK_BYTES: usize = 2 << 20;
/// A page: chunks are aligned to it so that populating and releasing them touch only their own
/// pages.
const PAGE: usize = 4096;

/// Blocks of chunk memory, owned (under the trace's `inner` lock).
pub(crate) struct Arena {
    /// Each block's start; all of `BLOCK_BYTES`.
    blocks: Vec<NonNull<u8>>,
    /// Bytes of the last block handed out.
    used: usize,
    /// Bytes per chunk (a multiple of [`PAGE`] dividing `BLOCK_BYTES`).
    chunk: usize,
}

// SAFETY: the blocks are allocations the arena owns (as a `Vec<Box<[u8]>>` would); the chunks
// cut from them are used by their owners under the trace's protocol (`buf.rs`).
unsafe impl Send for Arena {}

impl Arena {
    /// An arena of chunks of `chunk` bytes.
    pub(crate) fn new(chunk: usize) -> Arena {
        assert!(chunk % PAGE == 0 && BLOCK_BYTES % chunk == 0);
        Arena {
            blocks: Vec::new(),
            used: BLOCK_BYTES,
            chunk,
        }
    }

    fn layout() -> Layout {
        match Layout::from_size_align(BLOCK_BYTES, PAGE) {
            Ok(l) => l,
            Err(_) => unreachable!("2 MiB, page-aligned, is a valid layout"),
        }
    }

    /// Fresh memory for one chunk, faulted in: valid until the arena is dropped.
    pub(crate) fn take(&mut self) -> NonNull<u64> {
        if self.used == BLOCK_BYTES {
            let layout = Self::layout();
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { std::alloc::alloc(layout) };
            let Some(p) = NonNull::new(p) else {
                std::alloc::handle_alloc_error(layout)
            };
            self.blocks.push(p);
            self.used = 0;
        }
        let Some(block) = self.blocks.last() else {
            unreachable!("a block was just added")
        };
        // SAFETY: `used + chunk <= BLOCK_BYTES`: inside the block.
        let p = unsafe { block.add(self.used) };
        self.used += self.chunk;
        populate(p, self.chunk);
        p.cast()
    }

    /// Bytes of chunk memory it holds (virtual; [`release`]d chunks take no memory).
    #[cfg(test)]
    pub(crate) fn reserved(&self) -> usize {
        self.blocks.len() * BLOCK_BYTES
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for b in self.blocks.drain(..) {
            // SAFETY: allocated in `take` with this layout, freed once.
            unsafe { std::alloc::dealloc(b.as_ptr(), Self::layout()) };
        }
    }
}

/// Faults in `len` bytes at `p` (page-aligned) at once: one system call instead of a fault
/// per page as the owner's stores reach them (on a VM about 0.3 ns a byte instead of 0.4).
/// Best effort: kernels before 5.14 refuse it, and the pages then fault in one by one.
pub(crate) fn populate(p: NonNull<u8>, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `p..p+len` is arena memory no one else uses; populating changes no byte the
    // program reads (the chunk's words are written before they are read).
    unsafe {
        libc::madvise(p.as_ptr().cast(), len, libc::MADV_POPULATE_WRITE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, len);
}

/// Gives the pages of `len` bytes at `p` (page-aligned) back to the kernel; they read as zeros
/// when next touched. Best effort (elsewhere than Linux they stay).
pub(crate) fn release(p: NonNull<u8>, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: as in `populate`: arena memory no one uses now, whose contents do not matter.
    unsafe {
        libc::madvise(p.as_ptr().cast(), len, libc::MADV_DONTNEED);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks are page-aligned, distinct, writable, and a block holds 128 of them. Kills:
    /// `used` not advanced (two chunks at one address); a new block per chunk.
    #[test]
    fn chunks_are_cut_from_blocks() {
        let mut a = Arena::new(16 << 10);
        let chunks: Vec<NonNull<u64>> = (0..129).map(|_| a.take()).collect();
        assert_eq!(a.reserved(), 2 * BLOCK_BYTES);
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.as_ptr() as usize % PAGE, 0);
            // SAFETY: each chunk is 16 KiB of arena memory of this test.
            unsafe { c.as_ptr().add(2047).write(i as u64) };
        }
        for (i, c) in chunks.iter().enumerate() {
            // SAFETY: as above.
            assert_eq!(unsafe { c.as_ptr().add(2047).read() }, i as u64);
        }
        release(chunks[0].cast(), 16 << 10);
    }
}
