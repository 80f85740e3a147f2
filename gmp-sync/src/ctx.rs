//! The context-aware waits (feature `context`): `Semaphore::acquire_ctx` and
//! `WaitGroup::wait_ctx`, x/sync's `Weighted.Acquire(ctx, n)` and a `WaitGroup.Wait` that a
//! context can cut short.
//!
//! A waiter parks as the plain wait does, with an interruption check: the context is done.
//! Before it parks it asks the context to unpark it when it is cancelled (`after_func`), so a
//! cancel that comes at any moment either is seen by the check or wakes the park (a permit
//! if it comes before it); the callback is stopped when the wait ends. An interrupted waiter
//! leaves the primitive's queue as a cancelled goroutine does, so no unit or wake-up is lost:
//! one granted while it gave up counts as acquired (it was served first).

use crate::{Semaphore, WaitGroup};
use gmp_chan::context::{Context, ContextError};

/// Unparks the caller when `ctx` is cancelled, while it lives.
struct WakeOnCancel(gmp_chan::context::AfterFuncStop);

impl WakeOnCancel {
    fn new(ctx: &Context) -> WakeOnCancel {
        let me = gmp_core::park::current();
        WakeOnCancel(ctx.after_func(move || me.unpark()))
    }
}

impl Drop for WakeOnCancel {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The error of a context that is done (it is: the caller saw it).
fn err_of(ctx: &Context) -> ContextError {
    ctx.err().unwrap_or(ContextError::Canceled)
}

impl Semaphore {
    /// Acquires `n` units like [`acquire`](Semaphore::acquire), or gives up when `ctx` is
    /// done first and returns its error (x/sync: `Acquire(ctx, n)`), leaving the semaphore as
    /// if it had never asked: a context already done fails at once even when there is room;
    /// units granted to it while it gave up are kept (`Ok`). A request above the capacity
    /// waits until the context is done, then fails, instead of panicking.
    ///
    /// ```
    /// use gmp_chan::context::{Context, ContextError};
    /// use gmp_sync::Semaphore;
    /// use std::time::Duration;
    ///
    /// let sem = Semaphore::new(1);
    /// sem.acquire(1);
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(10));
    /// assert_eq!(sem.acquire_ctx(&ctx, 1), Err(ContextError::DeadlineExceeded));
    /// sem.release(1);
    /// assert_eq!(sem.acquire_ctx(&Context::background(), 1), Ok(()));
    /// ```
    pub fn acquire_ctx(&self, ctx: &Context, n: usize) -> Result<(), ContextError> {
        gmp_core::park::checkpoint();
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        if n > self.capacity() {
            // Never servable: wait for the context, not for units (x/sync).
            ctx.done().recv();
            return Err(err_of(ctx));
        }
        if self.try_acquire(n) {
            return Ok(());
        }
        let _wake = WakeOnCancel::new(ctx);
        if self.acquire_slow(n, &|| ctx.err().is_some()) {
            Ok(())
        } else {
            Err(err_of(ctx))
        }
    }
}

impl WaitGroup {
    /// Waits like [`wait`](WaitGroup::wait) until the counter is zero, or gives up when `ctx`
    /// is done first and returns its error, leaving the group as if it had never waited (a
    /// zero counter wins over a done context).
    ///
    /// ```
    /// use gmp_chan::context::{Context, ContextError};
    /// use gmp_sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// cancel.cancel();
    /// assert_eq!(wg.wait_ctx(&ctx), Err(ContextError::Canceled));
    /// wg.done();
    /// assert_eq!(wg.wait_ctx(&ctx), Ok(()));
    /// ```
    pub fn wait_ctx(&self, ctx: &Context) -> Result<(), ContextError> {
        let _wake = WakeOnCancel::new(ctx);
        if self.wait_until(&|| ctx.err().is_some()) {
            Ok(())
        } else {
            Err(err_of(ctx))
        }
    }
}
