//! The network poller (Go: runtime/netpoll.go, netpoll_epoll.go): one epoll instance (through
//! mio) per runtime, a poll descriptor per socket, and the wait that parks a goroutine until
//! its socket is ready.
//!
//! # Design
//!
//! - [`NetPoll`] is Go's `netpollinit` state: a `mio::Poll` created on the first socket a
//!   goroutine of this runtime waits on, a `mio::Waker` for `netpollBreak`, a table from mio
//!   tokens to poll descriptors (with a generation in each token, Go's `fdseq`, so an event of
//!   a closed socket never reaches the socket that reuses its slot), and the count of
//!   goroutines parked on I/O (Go: `netpollWaiters`).
//! - [`PollDesc`] is Go's `pollDesc`: per direction, a readiness token and the goroutines
//!   waiting for it (Go's `rg`/`wg`). Sockets are registered edge-triggered for both
//!   directions, once (Go: `netpollopen`), so readiness that arrives while nobody waits must be
//!   remembered: it is, as a sequence number the next waiter compares with the one it saw
//!   before its operation failed (the role of Go's `pdReady`), instead of parking.
//! - The scheduler calls [`Sched::netpoll_nonblock`] without blocking in `findrunnable` before stealing
//!   (Go's step 8), and the one M that has nothing to run blocks in it until the earliest timer
//!   (Go's step 13). The goroutines an event makes ready are injected by the caller
//!   ([`Sched::injectglist`]): into its P when it has one, else the global queue.
//! - Outside a goroutine (a plain thread, or a goroutine of another runtime than the one the
//!   socket is registered with) the wait is a `poll(2)` on the socket's fd: the thread blocks,
//!   as with std's blocking sockets.

use super::m::{current_goid, current_sched, MShared};
use super::Sched;
use crate::loom::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::{Arc, Mutex};
use crate::park::{self, Unparker, WaitReason};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The token of the `netpollBreak` waker (no poll descriptor can have it: generations are
/// below `u32::MAX`).
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Same as Go's netpoll_epoll.go: at most 128 events per `epoll_wait`.
const EVENTS_CAPACITY: usize = 128;

/// Which half of a socket a wait is for (Go: mode `'r'` / `'w'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Readable: data, a connection to accept, end of stream, or an error.
    Read,
    /// Writable: buffer space, a finished connect, or an error.
    Write,
}

/// One runtime's poller (Go: the epoll fd, `netpollEventFd`, `netpollWakeSig`,
/// `netpollWaiters`).
pub(crate) struct NetPoll {
    /// The epoll instance and its event buffer; held by the M that polls (one at a time: a
    /// non-blocking poll that finds it taken does nothing).
    poll: Mutex<(Poll, Events)>,
    registry: Registry,
    waker: Waker,
    /// Go: `netpollWakeSig`: a `netpollBreak` is pending, so more are not needed.
    ///
    /// | value   | meaning                                   | set by                      |
    /// |---------|-------------------------------------------|-----------------------------|
    /// | `false` | no wake-up pending                        | the poller, on the waker's event |
    /// | `true`  | the waker was written and not yet seen    | `netpoll_break` (CAS)       |
    wake_sig: AtomicBool,
    /// Goroutines parked on a socket of this poller (Go: `netpollWaiters`).
    waiters: AtomicUsize,
    descs: Mutex<Slab>,
}

impl std::fmt::Debug for NetPoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetPoll")
            .field("waiters", &self.waiters.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// Token → poll descriptor, with a generation per slot (Go: `pollcache` plus `fdseq`).
#[derive(Default)]
struct Slab {
    slots: Vec<(u32, Option<Arc<PollDesc>>)>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, pd: Arc<PollDesc>) -> Token {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push((0, None));
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[i];
        slot.0 = slot.0.wrapping_add(1) % u32::MAX;
        slot.1 = Some(pd);
        Token(((slot.0 as usize) << 32) | i)
    }

    fn get(&self, t: Token) -> Option<&Arc<PollDesc>> {
        let (gen, i) = ((t.0 >> 32) as u32, t.0 & 0xffff_ffff);
        match self.slots.get(i) {
            Some((g, Some(pd))) if *g == gen => Some(pd),
            _ => None,
        }
    }

    fn remove(&mut self, t: Token) {
        let (gen, i) = ((t.0 >> 32) as u32, t.0 & 0xffff_ffff);
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.0 == gen && slot.1.take().is_some() {
                self.free.push(i);
            }
        }
    }
}

impl NetPoll {
    /// Go: `netpollinit`.
    fn new() -> io::Result<NetPoll> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKER_TOKEN)?;
        Ok(NetPoll {
            poll: Mutex::new((poll, Events::with_capacity(EVENTS_CAPACITY))),
            registry,
            waker,
            wake_sig: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
            descs: Mutex::new(Slab::default()),
        })
    }

    /// Go: `netpollBreak`: makes a blocked (or the next) `netpoll` return.
    pub(crate) fn netpoll_break(&self) {
        if self
            .wake_sig
            .compare_exchange(false, true, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        if let Err(e) = self.waker.wake() {
            self.wake_sig.store(false, SeqCst);
            eprintln!("gmp: netpollBreak failed: {e}");
        }
    }

    /// Go: `netpoll(delay)`: waits up to `timeout` (`None`: until an event or a break) and
    /// pushes the goroutines that became ready onto `ready`. With `block == false` it returns at
    /// once if another M holds the poller.
    fn netpoll(&self, timeout: Option<Duration>, block: bool, ready: &mut Vec<Unparker>) {
        let mut guard = if block {
            self.poll.lock()
        } else {
            match self.poll.try_lock() {
                Some(g) => g,
                None => return,
            }
        };
        let (poll, events) = &mut *guard;
        if let Err(e) = poll.poll(events, timeout) {
            // EINTR: return empty, the caller recomputes its timers (Go does the same).
            if e.kind() != io::ErrorKind::Interrupted {
                eprintln!("gmp: netpoll: epoll_wait failed: {e}");
            }
            return;
        }
        let mut fired: Vec<(Arc<PollDesc>, bool, bool)> = Vec::new();
        let mut rearm = false;
        {
            let descs = self.descs.lock();
            for ev in events.iter() {
                if ev.token() == WAKER_TOKEN {
                    if block {
                        self.wake_sig.store(false, SeqCst);
                    } else {
                        // The break is meant for a blocking poll (Go consumes it only there):
                        // the waker is edge-triggered, so write it again for that poll.
                        rearm = true;
                    }
                    continue;
                }
                let Some(pd) = descs.get(ev.token()) else {
                    continue; // closed since the event was queued (Go: the fdseq check)
                };
                // Go: 'r' on IN|RDHUP|HUP|ERR, 'w' on OUT|HUP|ERR.
                let err = ev.is_error();
                let r = ev.is_readable() || ev.is_read_closed() || err;
                let w = ev.is_writable() || ev.is_write_closed() || err;
                fired.push((pd.clone(), r, w));
            }
        }
        drop(guard);
        if rearm {
            if let Err(e) = self.waker.wake() {
                eprintln!("gmp: netpollBreak failed: {e}");
            }
        }
        for (pd, r, w) in fired {
            // Go: netpollready.
            if r {
                pd.rg.netpollunblock(ready);
            }
            if w {
                pd.wg.netpollunblock(ready);
            }
        }
    }

    /// Go: `netpollopen`: registers `pd` for both directions, edge-triggered.
    fn register(&self, pd: &Arc<PollDesc>) -> io::Result<Token> {
        let token = self.descs.lock().insert(pd.clone());
        let r = self.registry.register(
            &mut SourceFd(&pd.fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = r {
            self.descs.lock().remove(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Go: `netpollclose`.
    fn deregister(&self, fd: RawFd, token: Token) {
        // The fd may already be gone from the epoll set only if it was closed, which the
        // owner does after this; an error here would be a bug, but not one worth a panic.
        let _ = self.registry.deregister(&mut SourceFd(&fd));
        self.descs.lock().remove(token);
    }
}

/// Per direction of a poll descriptor: Go's `rg`/`wg`, with a readiness *sequence number*
/// instead of the `pdReady` bit, and a list of waiters instead of one slot, so that several
/// goroutines may wait on one socket (std allows concurrent reads on `&TcpStream`; Go
/// serializes them with `fdMutex` instead).
///
/// | field     | meaning                                                    | changed by        |
/// |-----------|------------------------------------------------------------|-------------------|
/// | `seq`     | readiness events seen so far for this direction            | `netpollunblock` (+1) |
/// | `waiters` | goroutines parked for this direction (Go: `rg = g`)        | `prepare` (push), `netpollunblock` (take all), `finish` (remove self) |
///
/// A waiter's protocol: take a [`snapshot`](Self::snapshot) of `seq`, try the operation; on
/// `WouldBlock`, [`prepare`](Self::prepare) with the snapshot: if `seq` moved, readiness came
/// since the snapshot (Go's `pdReady`): retry at once; else it is enqueued, parks, calls
/// [`finish`](Self::finish) and retries. Readiness that arrives after the operation failed
/// comes after the snapshot, so either `prepare` sees `seq` moved or the waiter is on the list
/// when `netpollunblock` runs, and its unpark (a permit) makes the park return: no lost
/// wake-up, for any number of waiters. (A single `pdReady` bit is not enough with several
/// waiters: one woken waiter could consume the bit set for a later edge that the others,
/// between their `WouldBlock` and their park, needed; the loom model in
/// `tests/loom_netpoll.rs` found exactly that.)
#[derive(Debug, Default)]
pub struct PollWait {
    seq: AtomicU64,
    waiters: Mutex<Vec<Unparker>>,
}

impl PollWait {
    /// The readiness sequence number, to take before trying an operation.
    pub fn snapshot(&self) -> u64 {
        self.seq.load(SeqCst)
    }

    /// Go: `netpollunblock(pd, mode, ioready=true)`: records readiness and moves every waiter
    /// to `ready`, for the caller to unpark (Go: `netpollready` building a gList).
    pub fn netpollunblock(&self, ready: &mut Vec<Unparker>) {
        let mut w = self.waiters.lock();
        self.seq.fetch_add(1, SeqCst);
        ready.append(&mut w);
    }

    /// Go: `netpollblock` before `gopark`: `true` if readiness came since `snapshot` (do not
    /// park: retry the operation); else enqueues `me` to be unparked by the next readiness.
    pub fn prepare(&self, me: &Unparker, snapshot: u64) -> bool {
        let mut w = self.waiters.lock();
        if self.seq.load(SeqCst) != snapshot {
            return true; // Go: CAS pdReady → pdNil
        }
        w.push(me.clone()); // Go: pdNil → pdWait → g (netpollblockcommit)
        false
    }

    /// Go: `netpollblock` after `gopark`: leaves the wait. `true` if an event took `me` off
    /// the list (readiness came), `false` if the wake-up was spurious or a timeout.
    pub fn finish(&self, me: &Unparker) -> bool {
        let mut w = self.waiters.lock();
        match w.iter().position(|u| u.will_wake(me)) {
            Some(i) => {
                w.swap_remove(i);
                false
            }
            None => true,
        }
    }
}

/// The registration of a poll descriptor with one runtime's poller.
#[derive(Debug)]
struct Registration {
    np: Arc<NetPoll>,
    token: Token,
}

/// Go: `pollDesc`: the readiness state of one socket.
#[derive(Debug)]
pub(crate) struct PollDesc {
    fd: RawFd,
    /// Set on the first wait by a goroutine (registration is lazy: a socket used only by
    /// plain threads never enters an epoll set).
    reg: OnceLock<Registration>,
    reg_lock: Mutex<()>,
    rg: PollWait,
    wg: PollWait,
}

impl PollDesc {
    /// A descriptor for the non-blocking socket `fd`, which must stay open until
    /// [`close`](Self::close) has been called.
    pub(crate) fn new(fd: RawFd) -> Arc<PollDesc> {
        Arc::new(PollDesc {
            fd,
            reg: OnceLock::new(),
            reg_lock: Mutex::new(()),
            rg: PollWait::default(),
            wg: PollWait::default(),
        })
    }

    /// Go: `poll_runtime_pollClose`: leaves the poller. Call before closing the fd.
    pub(crate) fn close(&self) {
        if let Some(r) = self.reg.get() {
            r.np.deregister(self.fd, r.token);
        }
    }

    /// The readiness sequence number of `mode`, to take before trying an operation whose
    /// `WouldBlock` leads to [`wait`](Self::wait).
    pub(crate) fn snapshot(&self, mode: Mode) -> u64 {
        self.dir(mode).snapshot()
    }

    fn dir(&self, mode: Mode) -> &PollWait {
        match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        }
    }

    /// Go: `poll_runtime_pollWait`: waits until the socket may be ready for `mode` (the caller
    /// retries its operation: readiness is a hint) or `deadline` passes, which fails with
    /// std's timeout error on Linux (`EAGAIN`, [`io::ErrorKind::WouldBlock`]). `snapshot` is
    /// [`snapshot`](Self::snapshot) taken before the operation that would have blocked.
    ///
    /// A goroutine parks with [`WaitReason::IoWait`]; a plain thread blocks in `poll(2)`.
    pub(crate) fn wait(
        self: &Arc<Self>,
        mode: Mode,
        snapshot: u64,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        if current_goid().is_some() {
            if let Some(sched) = current_sched() {
                let np = sched.netpoll_init()?;
                let reg = self.registration(np)?;
                if Arc::ptr_eq(&reg.np, np) {
                    return self.netpollblock(&reg.np, mode, snapshot, deadline);
                }
                // Registered with another runtime's poller: block this M instead.
            }
        }
        wait_fd(self.fd, mode, deadline)
    }

    fn registration(self: &Arc<Self>, np: &Arc<NetPoll>) -> io::Result<&Registration> {
        if let Some(r) = self.reg.get() {
            return Ok(r);
        }
        let _g = self.reg_lock.lock();
        if let Some(r) = self.reg.get() {
            return Ok(r);
        }
        let token = np.register(self)?;
        let _ = self.reg.set(Registration {
            np: np.clone(),
            token,
        });
        Ok(self.reg.get().expect("just set"))
    }

    /// Go: `netpollblock`: returns at once if readiness came since `snapshot`, else parks
    /// until an event, a spurious wake-up (the caller retries either way) or the deadline.
    fn netpollblock(
        &self,
        np: &NetPoll,
        mode: Mode,
        snapshot: u64,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        let dir = self.dir(mode);
        let me = park::current();
        if dir.prepare(&me, snapshot) {
            return Ok(());
        }
        // Removes the registration however the park ends: woken, timed out, or unwound by a
        // runtime shutdown that cancels this goroutine.
        struct Waiting<'a> {
            dir: &'a PollWait,
            np: &'a NetPoll,
            me: &'a Unparker,
            done: bool,
        }
        impl Waiting<'_> {
            fn finish(&mut self) -> bool {
                self.done = true;
                let readied = self.dir.finish(self.me);
                self.np.waiters.fetch_sub(1, SeqCst);
                readied
            }
        }
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                if !self.done {
                    self.finish();
                }
            }
        }
        np.waiters.fetch_add(1, SeqCst);
        let mut w = Waiting {
            dir,
            np,
            me: &me,
            done: false,
        };
        let woken = match deadline {
            Some(d) => park::park_deadline(WaitReason::IoWait, d),
            None => {
                park::park(WaitReason::IoWait);
                true
            }
        };
        let readied = w.finish();
        if !readied && !woken && deadline.is_some_and(|d| crate::loom::now() >= d) {
            return Err(timed_out());
        }
        Ok(())
    }
}

/// The error of a read or write whose timeout passed: what std gives on Linux (`EAGAIN`,
/// "Resource temporarily unavailable", [`io::ErrorKind::WouldBlock`]).
pub(crate) fn timed_out() -> io::Error {
    io::Error::from_raw_os_error(libc::EAGAIN)
}

/// A plain thread's wait: `poll(2)` on `fd` until it is ready for `mode` or `deadline`.
fn wait_fd(fd: RawFd, mode: Mode, deadline: Option<Instant>) -> io::Result<()> {
    let events = match mode {
        Mode::Read => libc::POLLIN,
        Mode::Write => libc::POLLOUT,
    };
    loop {
        let timeout_ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let now = crate::loom::now();
                if d <= now {
                    return Err(timed_out());
                }
                // Round up, so the wait never ends before the deadline.
                let left = d - now;
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid, exclusively borrowed array of one pollfd for the call.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r > 0 {
            return Ok(());
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        // Timed out (or interrupted): loop, which rechecks the deadline.
    }
}

// ---- the scheduler's side ---------------------------------------------------------------

impl Sched {
    /// This runtime's poller, created on first use (Go: `netpollGenericInit`).
    pub(crate) fn netpoll_init(&self) -> io::Result<&Arc<NetPoll>> {
        if let Some(np) = self.netpoll.get() {
            return Ok(np);
        }
        let l = self.lock.lock();
        if self.netpoll.get().is_none() {
            let _ = self.netpoll.set(Arc::new(NetPoll::new()?));
            // An M waiting for timers sleeps on its note: wake it, so it waits in the poller.
            if let Some(pm) = l.poller.clone() {
                pm.note.unpark();
            }
        }
        Ok(self.netpoll.get().expect("just set"))
    }

    /// Go: `netpollinited() && netpollAnyWaiters()`.
    pub(crate) fn netpoll_any_waiters(&self) -> bool {
        self.netpoll
            .get()
            .is_some_and(|np| np.waiters.load(SeqCst) > 0)
    }

    /// Go: `netpoll(0)`: the goroutines whose sockets are ready now, without blocking.
    pub(crate) fn netpoll_nonblock(&self) -> Vec<Unparker> {
        let mut ready = Vec::new();
        if let Some(np) = self.netpoll.get() {
            np.netpoll(Some(Duration::ZERO), false, &mut ready);
            self.lastpoll
                .store(self.nanotime(crate::loom::now()), Relaxed);
        }
        ready
    }

    /// The poller M's sleep (Go: findRunnable's blocking `netpoll(delay)`): until `until`
    /// (ns since the epoch; `None`: no timer), an I/O event, or [`Sched::break_poller`].
    /// Returns the goroutines made ready, for [`Sched::injectglist`].
    pub(crate) fn netpoll_block(&self, m: &MShared, until: Option<u64>) -> Vec<Unparker> {
        let others = self.in_poller.fetch_add(1, SeqCst);
        assert_eq!(others, 0, "gmp: two Ms in the poller at once");
        let deadline = until.map(|u| self.instant_of(u));
        let mut ready = Vec::new();
        match self.netpoll.get() {
            Some(np) => {
                let timeout = deadline.map(|d| d.saturating_duration_since(crate::loom::now()));
                np.netpoll(timeout, true, &mut ready);
                self.lastpoll
                    .store(self.nanotime(crate::loom::now()), Relaxed);
            }
            None => match deadline {
                Some(d) if d > crate::loom::now() => {
                    m.note.park_deadline(d);
                }
                Some(_) => {}
                None => m.note.park(),
            },
        }
        self.in_poller.fetch_sub(1, SeqCst);
        ready
    }

    /// Wakes the M sleeping in [`Sched::netpoll_block`] (Go: `netpollBreak`, or the note of
    /// an M sleeping for timers before the poller existed).
    pub(crate) fn break_poller(&self, pm: &MShared) {
        pm.note.unpark();
        if let Some(np) = self.netpoll.get() {
            np.netpoll_break();
        }
    }

    /// Go: `wakeNetPoller`: the poller sleeps too long for a timer at `when`: break its sleep;
    /// nobody polls: make sure some M will look.
    pub(super) fn wake_netpoller(self: &Arc<Self>, when: u64) {
        let pu = self.poll_until.load(SeqCst);
        if pu != 0 {
            if when < pu {
                if let Some(mm) = self.lock.lock().poller.clone() {
                    self.break_poller(&mm);
                }
            }
        } else {
            self.wakep();
        }
    }

    /// Go: `injectglist`: makes the goroutines of a poll runnable: into the caller's P if its
    /// M holds one of this runtime's (runnext first), else the global queue; `wakep` in both.
    pub(crate) fn injectglist(&self, ready: Vec<Unparker>) {
        for u in ready {
            u.wake();
        }
    }
}
