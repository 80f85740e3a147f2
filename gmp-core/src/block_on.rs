//! `block_on`: async code driven from a goroutine (or a thread), parking instead of blocking.
//!
//! The waker handed to the future is the caller's [`Unparker`]: waking it unparks the
//! goroutine (Go: `goready`), whichever thread or executor calls `wake`, and a wake that comes
//! before the park is a permit, so none is lost. A goroutine waiting in `block_on` shows as
//! `[block_on]` in [`dump`](crate::dump); its M runs other goroutines meanwhile.

use crate::park::{self, Unparker, WaitReason};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that unparks one goroutine or thread.
struct UnparkWaker(Unparker);

impl Wake for UnparkWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling goroutine and returns its output.
///
/// In a goroutine, each `Pending` **parks the goroutine** (not its thread: the M runs other
/// goroutines) until the future's waker fires; on a plain thread it blocks the thread. The
/// future may be woken from anywhere: another goroutine, a thread, a tokio runtime. Spurious
/// wake-ups only cost a poll.
///
/// A goroutine waiting here is never reported by the deadlock detector (its waker may be on
/// a thread the runtime cannot see), as one waiting on a socket is not.
///
/// Go has no futures; this is how gmp code awaits async code, e.g. a task of a tokio runtime
/// that runs on its own threads (`gmp-examples`' `block_on_tokio`). The other way round, a
/// [`JoinHandle`](crate::JoinHandle) is a future of its goroutine's result.
///
/// ```
/// let h = gmp_core::go(|| 6 * 7);
/// // In async code this would be `h.await`.
/// assert_eq!(gmp_core::block_on(h).unwrap(), 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(UnparkWaker(park::current())));
    let mut cx = Context::from_waker(&waker);
    // The waker may be another runtime's thread: no deadlock report while we wait.
    let _external = crate::sched::external_wait();
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        park::park(WaitReason::BlockOn);
    }
}
