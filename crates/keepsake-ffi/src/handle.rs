//! The state inside a handle, and what stops a handle after a panic: a body
//! that panicked may have left the state half-changed, so the handle refuses
//! every later call instead of acting on it.

use keepsake::{Error, Result};

/// A handle's state, usable until a call on it panics or it is finished.
#[derive(Debug)]
pub(crate) struct Guarded<T> {
    state: Option<T>,
    in_call: bool,
}

impl<T> Guarded<T> {
    pub(crate) fn new(state: T) -> Self {
        Guarded {
            state: Some(state),
            in_call: false,
        }
    }

    /// Runs `body` on the state. A panic inside `body` leaves the handle
    /// marked as in a call forever, so every later call fails.
    pub(crate) fn with<R>(&mut self, body: impl FnOnce(&mut T) -> Result<R>) -> Result<R> {
        if self.in_call {
            return Err(stopped());
        }
        let state = self.state.as_mut().ok_or_else(finished)?;
        self.in_call = true;
        let result = body(state);
        self.in_call = false;
        result
    }

    /// Takes the state out (to finish it), leaving the handle spent.
    pub(crate) fn take(&mut self) -> Result<T> {
        if self.in_call {
            return Err(stopped());
        }
        self.state.take().ok_or_else(finished)
    }

    /// The state, to read.
    pub(crate) fn get(&self) -> Result<&T> {
        if self.in_call {
            return Err(stopped());
        }
        self.state.as_ref().ok_or_else(finished)
    }
}

fn stopped() -> Error {
    Error::invalid("this handle stopped working after an internal error in an earlier call")
}

fn finished() -> Error {
    Error::invalid("this handle is already finished")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_stops_the_handle() {
        let mut guarded = Guarded::new(1);
        assert_eq!(guarded.with(|n| Ok(*n + 1)).unwrap(), 2);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            guarded.with(|_| -> Result<()> { panic!("boom") })
        }));
        assert!(panicked.is_err());
        assert!(guarded.with(|n| Ok(*n)).is_err());
        assert!(guarded.get().is_err());
        assert!(guarded.take().is_err());
    }

    #[test]
    fn a_taken_state_is_gone() {
        let mut guarded = Guarded::new("s");
        assert_eq!(guarded.take().unwrap(), "s");
        assert!(guarded.get().is_err());
    }
}
