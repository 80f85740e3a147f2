//! Iterators over received values (Go: `for v := range ch`).

use crate::handles::Chan;
use std::fmt;

/// Receives until the channel is closed and drained. Made by [`Chan::iter`] or `&ch` in a
/// `for` loop.
///
/// ```
/// let ch = gmp_chan::chan(2);
/// ch.send(1).unwrap();
/// ch.send(2).unwrap();
/// ch.close();
/// let mut n = 0;
/// for v in &ch { n += v; }
/// assert_eq!(n, 3);
/// ```
pub struct Iter<'a, T> {
    chan: &'a Chan<T>,
}

/// Owning version of [`Iter`], from `for v in ch` or `for v in rx`.
///
/// ```
/// let ch = gmp_chan::chan(1);
/// ch.send("x").unwrap();
/// ch.close();
/// assert_eq!(ch.receiver().into_iter().collect::<Vec<_>>(), ["x"]);
/// ```
pub struct IntoIter<T> {
    chan: Chan<T>,
}

impl<'a, T> Iter<'a, T> {
    pub(crate) fn new(chan: &'a Chan<T>) -> Self {
        Iter { chan }
    }
}

impl<T> IntoIter<T> {
    pub(crate) fn new(chan: Chan<T>) -> Self {
        IntoIter { chan }
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.chan.recv()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.chan.recv()
    }
}

impl<T> std::iter::FusedIterator for Iter<'_, T> {}
impl<T> std::iter::FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("chan", self.chan).finish()
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("chan", &self.chan)
            .finish()
    }
}
