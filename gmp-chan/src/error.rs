//! Error types of the channel operations.
//!
//! `Debug` does not require `T: Debug` (the value is shown as `..`), so `unwrap()` works for
//! every element type, as with crossbeam-channel.

use std::error::Error;
use std::fmt;

/// A [`send`](crate::Chan::send) on a closed channel; carries the value back.
/// (Go panics with "send on closed channel".)
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// Why a [`try_send`](crate::Chan::try_send) failed; carries the value back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full, or no receiver is waiting on an unbuffered channel.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why a [`try_recv`](crate::Chan::try_recv) failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing buffered and no sender waiting.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

/// Why a [`send_timeout`](crate::Chan::send_timeout) failed; carries the value back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// No room and no receiver before the timeout.
    Timeout(T),
    /// The channel is (or was, while waiting) closed.
    Closed(T),
}

/// Why a [`recv_timeout`](crate::Chan::recv_timeout) failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// Nothing arrived before the timeout.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The methods of a failed send's error that gives the value back from either of its two
/// variants: `into_inner`, and an `is_*` predicate per variant.
macro_rules! unsent_value_methods {
    ($ty:ident { $($var:ident => $is:ident, $doc:literal;)+ }) => {
        impl<T> $ty<T> {
            /// The value that was not sent.
            pub fn into_inner(self) -> T {
                match self {
                    $($ty::$var(v))|+ => v,
                }
            }
            $(
                #[doc = $doc]
                pub fn $is(&self) -> bool {
                    matches!(self, $ty::$var(_))
                }
            )+
        }
    };
}

unsent_value_methods!(TrySendError {
    Full => is_full, "Whether the channel was full.";
    Closed => is_closed, "Whether the channel was closed.";
});
unsent_value_methods!(SendTimeoutError {
    Timeout => is_timeout, "Whether the operation timed out.";
    Closed => is_closed, "Whether the channel was closed.";
});

impl TryRecvError {
    /// Whether the channel was empty (but open).
    pub fn is_empty(&self) -> bool {
        *self == TryRecvError::Empty
    }
    /// Whether the channel was closed and drained.
    pub fn is_closed(&self) -> bool {
        *self == TryRecvError::Closed
    }
}

impl RecvTimeoutError {
    /// Whether the operation timed out.
    pub fn is_timeout(&self) -> bool {
        *self == RecvTimeoutError::Timeout
    }
    /// Whether the channel was closed and drained.
    pub fn is_closed(&self) -> bool {
        *self == RecvTimeoutError::Closed
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        SendTimeoutError::Closed(e.0)
    }
}

impl From<TryRecvError> for RecvTimeoutError {
    fn from(e: TryRecvError) -> Self {
        match e {
            TryRecvError::Empty => RecvTimeoutError::Timeout,
            TryRecvError::Closed => RecvTimeoutError::Closed,
        }
    }
}

/// `Display` (one message per variant) and `Error` for an error type; for one that carries
/// the unsent value (`<T>`), also a `Debug` that shows the value as `..`.
macro_rules! error_impls {
    ($ty:ident<T> { $($pat:pat => $debug:literal, $msg:literal;)+ }) => {
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $($pat => $debug,)+
                })
            }
        }
        error_impls!(@display [<T>] $ty<T> { $($pat => $msg;)+ });
    };
    ($ty:ident { $($pat:pat => $msg:literal;)+ }) => {
        error_impls!(@display [] $ty { $($pat => $msg;)+ });
    };
    (@display [$($gen:tt)*] $ty:ty { $($pat:pat => $msg:literal;)+ }) => {
        impl $($gen)* fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $($pat => $msg,)+
                })
            }
        }
        impl $($gen)* Error for $ty {}
    };
}

error_impls!(SendError<T> {
    SendError(_) => "SendError(..)", "send on closed channel";
});
error_impls!(TrySendError<T> {
    TrySendError::Full(_) => "Full(..)", "send on full channel";
    TrySendError::Closed(_) => "Closed(..)", "send on closed channel";
});
error_impls!(SendTimeoutError<T> {
    SendTimeoutError::Timeout(_) => "Timeout(..)", "timed out sending on channel";
    SendTimeoutError::Closed(_) => "Closed(..)", "send on closed channel";
});
error_impls!(TryRecvError {
    TryRecvError::Empty => "receive on empty channel";
    TryRecvError::Closed => "receive on closed channel";
});
error_impls!(RecvTimeoutError {
    RecvTimeoutError::Timeout => "timed out receiving on channel";
    RecvTimeoutError::Closed => "receive on closed channel";
});
