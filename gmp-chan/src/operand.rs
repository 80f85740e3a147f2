//! What a `select` case may name as its channel: `&Chan<T>`, `&Sender<T>`/`&Receiver<T>`, or
//! an `Option` of those where `None` is Go's nil channel (a case that never fires); and, for a
//! receive, `&Ticker` or `&Timer`, which stand for their channel (Go's `t.C`).

use crate::handles::{Chan, Receiver, Sender};
use crate::time::{Ticker, Timer};
use std::time::Instant;

mod sealed {
    pub trait Sealed {}
}

/// A channel operand of a receive case: `&Chan<T>`, `&Receiver<T>`, `Option<&Chan<T>>`,
/// `Option<&Receiver<T>>`, `&Ticker` and `&Timer` (their channel), `Option`s of those (and, for
/// the `select!` macro, references to all these). `None` is a nil channel. Sealed.
pub trait RecvOperand<'a>: sealed::Sealed {
    /// The element type.
    type Elem;
    /// The channel, or `None` for a nil channel.
    fn recv_chan(self) -> Option<&'a Chan<Self::Elem>>;
}

/// A channel operand of a send case: `&Chan<T>`, `&Sender<T>`, `Option<&Chan<T>>`,
/// `Option<&Sender<T>>` (and, for the `select!` macro, references to those).
/// `None` is a nil channel. Sealed.
pub trait SendOperand<'a>: sealed::Sealed {
    /// The element type.
    type Elem;
    /// The channel, or `None` for a nil channel.
    fn send_chan(self) -> Option<&'a Chan<Self::Elem>>;
}

macro_rules! operands {
    ($trait:ident, $method:ident, $view:ident) => {
        impl<'a, T> sealed::Sealed for &'a $view<T> {}
        impl<'a, T> $trait<'a> for &'a $view<T> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                Some(&self.chan)
            }
        }
        impl<'a, T> sealed::Sealed for Option<&'a $view<T>> {}
        impl<'a, T> $trait<'a> for Option<&'a $view<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                self.map(|v| &v.chan)
            }
        }
        impl<'a, 'b, T> sealed::Sealed for &'b &'a $view<T> {}
        impl<'a, 'b, T> $trait<'a> for &'b &'a $view<T> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                Some(&self.chan)
            }
        }
        impl<'a, 'b, T> sealed::Sealed for &'b Option<&'a $view<T>> {}
        impl<'a, 'b, T> $trait<'a> for &'b Option<&'a $view<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                self.map(|v| &v.chan)
            }
        }
        impl<'a, T> sealed::Sealed for &'a Option<$view<T>> {}
        impl<'a, T> $trait<'a> for &'a Option<$view<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                self.as_ref().map(|v| &v.chan)
            }
        }
    };
}

operands!(RecvOperand, recv_chan, Receiver);
operands!(SendOperand, send_chan, Sender);

macro_rules! chan_operands {
    ($($trait:ident, $method:ident);*) => {$(
        impl<'a, T> $trait<'a> for &'a Chan<T> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                Some(self)
            }
        }
        impl<'a, T> $trait<'a> for Option<&'a Chan<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                self
            }
        }
        impl<'a, 'b, T> $trait<'a> for &'b &'a Chan<T> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                Some(*self)
            }
        }
        impl<'a, 'b, T> $trait<'a> for &'b Option<&'a Chan<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                *self
            }
        }
        impl<'a, T> $trait<'a> for &'a Option<Chan<T>> {
            type Elem = T;
            fn $method(self) -> Option<&'a Chan<T>> {
                self.as_ref()
            }
        }
    )*};
}

impl<T> sealed::Sealed for &Chan<T> {}
impl<T> sealed::Sealed for Option<&Chan<T>> {}
impl<T> sealed::Sealed for &&Chan<T> {}
impl<T> sealed::Sealed for &Option<&Chan<T>> {}
impl<T> sealed::Sealed for &Option<Chan<T>> {}
chan_operands!(RecvOperand, recv_chan; SendOperand, send_chan);

/// `&Ticker`, `&Timer` (and their `Option`s, and references to those) stand for their channel.
macro_rules! timer_operands {
    ($($timer:ident),*) => {$(
        impl sealed::Sealed for &$timer {}
        impl<'a> RecvOperand<'a> for &'a $timer {
            type Elem = Instant;
            fn recv_chan(self) -> Option<&'a Chan<Instant>> {
                Some(&self.c.chan)
            }
        }
        impl sealed::Sealed for Option<&$timer> {}
        impl<'a> RecvOperand<'a> for Option<&'a $timer> {
            type Elem = Instant;
            fn recv_chan(self) -> Option<&'a Chan<Instant>> {
                self.map(|t| &t.c.chan)
            }
        }
        impl sealed::Sealed for &&$timer {}
        impl<'a, 'b> RecvOperand<'a> for &'b &'a $timer {
            type Elem = Instant;
            fn recv_chan(self) -> Option<&'a Chan<Instant>> {
                Some(&self.c.chan)
            }
        }
        impl sealed::Sealed for &Option<&$timer> {}
        impl<'a, 'b> RecvOperand<'a> for &'b Option<&'a $timer> {
            type Elem = Instant;
            fn recv_chan(self) -> Option<&'a Chan<Instant>> {
                self.map(|t| &t.c.chan)
            }
        }
    )*};
}

timer_operands!(Ticker, Timer);
