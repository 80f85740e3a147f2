//! `RwLock<T>`: Go's writer-preferring `sync.RWMutex` holding its data.

use crate::loom::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use crate::loom::{const_fn, DataCell};
use crate::mutex::{fmt_as_data, fmt_lock};
use crate::raw_mutex::RawMutex;
use crate::sema::Sema;
use gmp_core::park::WaitReason;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// The most readers at once. Same as Go's `rwmutexMaxReaders` (sync/rwmutex.go).
const RWMUTEX_MAX_READERS: i32 = 1 << 30;

/// A reader-writer lock that parks goroutines (Go: `sync.RWMutex`), holding its data.
///
/// Many readers or one writer. It is *writer-preferring*, as Go's: once a writer is waiting,
/// new readers wait behind it, so a stream of readers cannot starve writers. One consequence,
/// also Go's: a goroutine must not take a second read lock while it holds one (if a writer
/// arrived in between, the second `read` waits for the writer, which waits for the first read
/// lock: deadlock).
///
/// No poisoning; guards are `Send` like [`MutexGuard`](crate::MutexGuard)'s.
///
/// ```
/// use gmp_sync::RwLock;
///
/// let config = RwLock::new(String::from("v1"));
/// {
///     let a = config.read();
///     let b = config.read(); // readers share
///     assert_eq!(*a, *b);
/// }
/// config.write().push_str("-patched");
/// assert_eq!(*config.read(), "v1-patched");
/// ```
pub struct RwLock<T: ?Sized> {
    /// Held by the writer (and by a writer waiting for readers to leave): writers serialize.
    w: RawMutex,
    /// A writer waits here for the departing readers.
    writer_sem: Sema,
    /// Readers wait here for the writer.
    reader_sem: Sema,
    /// Go's `readerCount`:
    ///
    /// | value                        | meaning                                         |
    /// |------------------------------|-------------------------------------------------|
    /// | `r >= 0`                     | no writer; `r` readers hold (or are taking) it  |
    /// | `r - RWMUTEX_MAX_READERS`    | a writer holds it or waits; `r` readers count   |
    ///
    /// Readers add 1 / subtract 1; a writer subtracts `RWMUTEX_MAX_READERS` to announce
    /// itself (readers that then see a negative value wait on `reader_sem`) and adds it back
    /// on unlock, releasing the waiting readers.
    reader_count: AtomicI32,
    /// Go's `readerWait`: readers the waiting writer still waits for; the last of them wakes it.
    reader_wait: AtomicI32,
    /// Whether the writer waiting for the departing readers was cancelled while it waited:
    ///
    /// | value   | meaning                                                            |
    /// |---------|--------------------------------------------------------------------|
    /// | `false` | the last departing reader wakes the waiting writer (`writer_sem`)   |
    /// | `true`  | the writer is gone: the last departing reader unlocks in its place |
    ///
    /// Set by the cancelled writer; cleared (by CAS) by whichever of it and the last reader
    /// finishes the write lock's unlock (see `abandon_write`).
    writer_abandoned: AtomicBool,
    data: DataCell<T>,
}

// SAFETY: readers share `&T` across threads (T: Sync) and the writer gets `&mut T`, possibly
// on another thread than the one that created it (T: Send), as std's RwLock.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: moving the lock moves the `T` it owns.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    const_fn! {
        /// Creates an unlocked lock holding `value`.
        ///
        /// ```
        /// static TABLE: gmp_sync::RwLock<[u8; 4]> = gmp_sync::RwLock::new([0; 4]);
        /// TABLE.write()[0] = 7;
        /// assert_eq!(TABLE.read()[0], 7);
        /// ```
        pub fn new(value: T) -> RwLock<T> {
            RwLock {
                w: RawMutex::new(),
                writer_sem: Sema::new(),
                reader_sem: Sema::new(),
                reader_count: AtomicI32::new(0),
                reader_wait: AtomicI32::new(0),
                writer_abandoned: AtomicBool::new(false),
                data: DataCell::new(value),
            }
        }
    }

    /// Consumes the lock and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, parking while a writer holds or waits for the lock (Go: `RLock`).
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        gmp_core::park::checkpoint();
        if self.reader_count.fetch_add(1, SeqCst) + 1 < 0 {
            // A writer is pending: wait for it.
            self.reader_sem
                .semacquire(false, WaitReason::SyncRWMutexRLock, |_| self.abandon_read());
        }
        RwLockReadGuard { lock: self }
    }

    /// Locks for reading if no writer holds or waits for the lock (Go: `TryRLock`).
    ///
    /// ```
    /// let l = gmp_sync::RwLock::new(1);
    /// let w = l.write();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert_eq!(*l.try_read().unwrap(), 1);
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mut c = self.reader_count.load(SeqCst);
        loop {
            if c < 0 {
                return None;
            }
            match self
                .reader_count
                .compare_exchange_weak(c, c + 1, SeqCst, SeqCst)
            {
                Ok(_) => return Some(RwLockReadGuard { lock: self }),
                Err(now) => c = now,
            }
        }
    }

    /// Go: `RUnlock`.
    fn read_unlock(&self) {
        let r = self.reader_count.fetch_sub(1, SeqCst) - 1;
        if r < 0 {
            self.read_unlock_slow(r);
        }
    }

    /// Go: `rUnlockSlow`.
    #[cold]
    fn read_unlock_slow(&self, r: i32) {
        if r + 1 == 0 || r + 1 == -RWMUTEX_MAX_READERS {
            // Unreachable through guards; Go makes it a fatal error.
            eprintln!("fatal error: sync: RUnlock of unlocked RWMutex");
            std::process::abort();
        }
        // A writer is pending; the last reader it waits for wakes it.
        if self.reader_wait.fetch_sub(1, SeqCst) - 1 == 0 {
            if self
                .writer_abandoned
                .compare_exchange(true, false, SeqCst, SeqCst)
                .is_ok()
            {
                // The writer was cancelled while it waited for us: finish its lock's unlock.
                self.write_unlock();
            } else {
                self.writer_sem.semrelease(false);
            }
        }
    }

    /// Locks for writing, parking while readers or another writer hold it (Go: `Lock`).
    /// New readers wait from the moment a writer starts waiting.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        gmp_core::park::checkpoint();
        // First, resolve competition with other writers.
        self.w.lock(WaitReason::SyncMutexLock);
        // Announce to readers that there is a pending writer.
        let r = self.reader_count.fetch_sub(RWMUTEX_MAX_READERS, SeqCst);
        // Wait for active readers.
        if r != 0 && self.reader_wait.fetch_add(r, SeqCst) + r != 0 {
            self.writer_sem
                .semacquire(false, WaitReason::SyncRWMutexLock, |_| self.abandon_write());
        }
        RwLockWriteGuard { lock: self }
    }

    /// Locks for writing if nobody holds the lock (Go: `TryLock`).
    ///
    /// ```
    /// let l = gmp_sync::RwLock::new(1);
    /// let r = l.read();
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// *l.try_write().unwrap() = 2;
    /// assert_eq!(*l.read(), 2);
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if !self.w.try_lock() {
            return None;
        }
        if self
            .reader_count
            .compare_exchange(0, -RWMUTEX_MAX_READERS, SeqCst, SeqCst)
            .is_err()
        {
            // SAFETY: we took `w` just above.
            unsafe { self.w.unlock() };
            return None;
        }
        Some(RwLockWriteGuard { lock: self })
    }

    /// Go: `Unlock`.
    fn write_unlock(&self) {
        // Announce to readers there is no active writer.
        let r = self.reader_count.fetch_add(RWMUTEX_MAX_READERS, SeqCst) + RWMUTEX_MAX_READERS;
        if r >= RWMUTEX_MAX_READERS {
            // Unreachable through guards; Go makes it a fatal error.
            eprintln!("fatal error: sync: Unlock of unlocked RWMutex");
            std::process::abort();
        }
        // Unblock the readers that queued behind us.
        for _ in 0..r {
            self.reader_sem.semrelease(false);
        }
        // Allow other writers to proceed.
        // SAFETY: the write guard being dropped holds `w`.
        unsafe { self.w.unlock() };
    }

    /// Undoes a `read` whose goroutine was cancelled while it waited for a writer (it
    /// unwinds). It is registered in `reader_count`. Readers are counted, not named: each
    /// writer's unlock releases one `reader_sem` count per registered waiting reader, and any
    /// of them may take any count. So: if a count is there, take it and unlock as a reader
    /// would (that count was granted to "a reader"); if a writer is still pending, the release
    /// for us is not due yet: unregister; otherwise a writer's unlock is releasing our count
    /// right now, on another thread: wait the few instructions until it shows up. Never a
    /// leftover count that would let a later reader in beside a writer.
    /// Runs during the unwind: never panics, never parks.
    fn abandon_read(&self) {
        let took_count = self.reader_sem.take_or_uncount(|| {
            let c = self.reader_count.load(SeqCst);
            // `None` when no writer is pending: the writer's unlock is releasing our count.
            (c < 0).then(|| {
                self.reader_count
                    .compare_exchange(c, c - 1, SeqCst, SeqCst)
                    .is_ok()
            })
        });
        if took_count {
            self.read_unlock();
        }
    }

    /// Undoes a `write` whose goroutine was cancelled while it waited for the readers to
    /// leave (it unwinds). It holds `w` and has announced itself to readers; the last reader
    /// to leave will release `writer_sem` for it. It cannot wait for them, so it hands its
    /// unlock to that reader: it sets `writer_abandoned`, which the last reader takes (CAS)
    /// and then unlocks in its place. If the readers have all left already (`reader_wait` is
    /// 0), it takes the flag back itself; if it wins, the last reader is releasing
    /// `writer_sem` instead, so it takes that count (waiting the few instructions until it
    /// shows up) and unlocks; if it loses, the reader took over.
    /// Runs during the unwind: never panics, never parks.
    fn abandon_write(&self) {
        self.writer_abandoned.store(true, SeqCst);
        if self.reader_wait.load(SeqCst) > 0 {
            return; // the last reader to leave sees the flag
        }
        if self
            .writer_abandoned
            .compare_exchange(true, false, SeqCst, SeqCst)
            .is_err()
        {
            return; // the last reader took it: it unlocks for us
        }
        while !self.writer_sem.cansemacquire() {
            crate::loom::yield_now();
        }
        self.write_unlock();
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_lock(f, "RwLock", self.try_read().as_deref())
    }
}

/// Shared access to the data of a read-locked [`RwLock`]; read-unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

// SAFETY: the guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: the read lock has no owner thread; moving the guard moves shared access to `T`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held, so no writer (and no `&mut T`) exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

/// Exclusive access to the data of a write-locked [`RwLock`]; unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

// SAFETY: the guard gives `&T` to whoever holds `&guard`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: the lock has no owner thread; moving the guard moves exclusive access to `T`.
unsafe impl<T: ?Sized + Send> Send for RwLockWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: no other reader or writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

fmt_as_data!(Debug for RwLockReadGuard, Debug for RwLockWriteGuard);
