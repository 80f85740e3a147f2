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
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

/// Bytes per block: 128 chunks of 16 KiB. Only the chunks handed out are faulted in.
const BLOCK_BYTES: usize = 2 << 20;
/// A page: chunks are aligned to it so that populating and releasing them touch only their own
/// pages.
const PAGE: usize = 4096;

/// One block and how much of it the prefault thread has faulted in.
struct Block {
    start: NonNull<u8>,
    /// Bytes from `start` faulted in ahead (a multiple of the chunk size); the thread stores
    /// it with Release after each chunk's `populate`.
    done: Arc<AtomicUsize>,
}

/// A block to fault in ahead, sent to the prefault thread.
struct Request {
    /// The block's start, as an address (the thread only passes it to `madvise`).
    start: usize,
    done: Arc<AtomicUsize>,
}

/// The prefault thread: faults in the block after the one in use, off the hooks' path.
struct Prefault {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Prefault {
    /// Starts the thread; `None` if the system cannot (chunks then fault in on the hooks'
    /// path, as without it).
    fn start(chunk: usize) -> Option<Prefault> {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("gmp-trace-prefault".into())
            .spawn(move || {
                for r in rx {
                    for off in (0..BLOCK_BYTES).step_by(chunk) {
                        let Some(p) = NonNull::new((r.start + off) as *mut u8) else {
                            break;
                        };
                        populate(p, chunk);
                        r.done.store(off + chunk, Release);
                    }
                }
            })
            .ok()?;
        Some(Prefault {
            tx: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Prefault {
    fn drop(&mut self) {
        drop(self.tx.take()); // ends the thread's loop once it finished its block
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Blocks of chunk memory, owned (under the trace's `inner` lock).
///
/// The block after the one chunks are cut from is allocated when that one is opened and
/// handed to a thread of the arena's that faults it in ahead (the prefault thread), so a hook
/// that needs a chunk finds its pages there: on a busy trace, a chunk's page faults were a
/// quarter of what recording cost the goroutines. A chunk the thread has not reached yet is
/// faulted in by `take` itself (both doing it is harmless: populating a present page does
/// nothing).
pub(crate) struct Arena {
    /// Every block, oldest first; the last is the one faulted in ahead, the one before it the
    /// one chunks are cut from.
    blocks: Vec<Block>,
    /// Bytes of the current block handed out.
    used: usize,
    /// Bytes per chunk (a multiple of [`PAGE`] dividing `BLOCK_BYTES`).
    chunk: usize,
    /// Started with the first block.
    prefault: Option<Prefault>,
}

// SAFETY: the blocks are allocations the arena owns (as a `Vec<Box<[u8]>>` would); the chunks
// cut from them are used by their owners under the trace's protocol (`buf.rs`); the prefault
// thread only `madvise`s block memory, which outlives it (`Drop` joins it first).
unsafe impl Send for Arena {}

impl Arena {
    /// An arena of chunks of `chunk` bytes.
    pub(crate) fn new(chunk: usize) -> Arena {
        assert!(chunk % PAGE == 0 && BLOCK_BYTES % chunk == 0);
        Arena {
            blocks: Vec::new(),
            used: BLOCK_BYTES,
            chunk,
            prefault: None,
        }
    }

    fn layout() -> Layout {
        match Layout::from_size_align(BLOCK_BYTES, PAGE) {
            Ok(l) => l,
            Err(_) => unreachable!("2 MiB, page-aligned, is a valid layout"),
        }
    }

    /// A new block, handed to the prefault thread.
    fn new_block(&mut self) {
        let layout = Self::layout();
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        let Some(start) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        let done = Arc::new(AtomicUsize::new(0));
        if self.prefault.is_none() {
            self.prefault = Prefault::start(self.chunk);
        }
        if let Some(tx) = self.prefault.as_ref().and_then(|f| f.tx.as_ref()) {
            let _ = tx.send(Request {
                start: start.as_ptr() as usize,
                done: done.clone(),
            });
        }
        self.blocks.push(Block { start, done });
    }

    /// Fresh memory for one chunk, faulted in: valid until the arena is dropped.
    pub(crate) fn take(&mut self) -> NonNull<u64> {
        if self.used == BLOCK_BYTES {
            if self.blocks.is_empty() {
                self.new_block();
            }
            // Open the block faulted in ahead, and send the next one ahead.
            self.new_block();
            self.used = 0;
        }
        let Some(block) = self.blocks.len().checked_sub(2).map(|i| &self.blocks[i]) else {
            unreachable!("two blocks were just added")
        };
        // SAFETY: `used + chunk <= BLOCK_BYTES`: inside the block.
        let p = unsafe { block.start.add(self.used) };
        self.used += self.chunk;
        if block.done.load(Acquire) < self.used {
            populate(p, self.chunk);
        }
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
        drop(self.prefault.take()); // joins the thread: it no longer touches the blocks
        for b in self.blocks.drain(..) {
            // SAFETY: allocated in `new_block` with this layout, freed once.
            unsafe { std::alloc::dealloc(b.start.as_ptr(), Self::layout()) };
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
        // Two blocks in use, and the one faulted in ahead.
        assert_eq!(a.reserved(), 3 * BLOCK_BYTES);
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

    /// The block after the one in use is faulted in by the prefault thread, and dropping the
    /// arena stops the thread. Kills: no block sent ahead; the thread never started (`done`
    /// would stay 0 and every chunk fault in on the hooks' path).
    #[test]
    fn the_next_block_is_faulted_in_ahead() {
        let mut a = Arena::new(16 << 10);
        a.take();
        assert_eq!(a.blocks.len(), 2, "the block in use and the one ahead");
        let ahead = a.blocks[1].done.clone();
        let t0 = std::time::Instant::now();
        while ahead.load(Acquire) < BLOCK_BYTES {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "the block ahead was not faulted in"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(a); // joins the thread
        assert_eq!(
            Arc::strong_count(&ahead),
            1,
            "the thread let go of the block"
        );
    }
}
