//! `done(&handle)`: a goroutine's end as a channel, so `select!` can wait for it next to
//! other operations (Go's idiom is a `done` channel the goroutine closes with `defer`).

use crate::handles::{chan, Receiver};
use gmp_core::JoinHandle;

/// A receiver that is closed when the goroutine of `h` has ended (returned, panicked, exited
/// or been cancelled), so `recv` on it returns `None` then and never yields a value: a
/// `select!` receive operand for "the goroutine is done". The handle is only borrowed: join it
/// afterwards for the result. Each call makes a new channel; the channel is closed even if
/// the handle is dropped first.
///
/// ```
/// use gmp_chan::{done, select};
/// use std::time::Duration;
///
/// let h = gmp_core::go(|| gmp_core::sleep(Duration::from_millis(5)));
/// let finished = done(&h);
/// select! {
///     recv(finished) -> v => assert_eq!(v, None), // closed: the goroutine has ended
///     recv(gmp_chan::time::after(Duration::from_secs(60))) -> _ => panic!("timed out"),
/// }
/// assert!(h.is_finished());
/// h.join().unwrap();
/// ```
pub fn done<T>(h: &JoinHandle<T>) -> Receiver<()> {
    let ch = chan::<()>(0);
    let tx = ch.sender();
    // Closing never blocks: fit for the end of a goroutine, where `on_finish` runs it.
    h.on_finish(move || {
        tx.close();
    });
    ch.receiver()
}
