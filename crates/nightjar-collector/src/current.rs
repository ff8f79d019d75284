//! A value that is replaced while running (reloaded databases), read without
//! blocking the writer for long.

use std::sync::{Arc, RwLock};

/// The current value of something that is reloaded while running. Readers
/// take an `Arc` and keep using it even if the value is replaced meanwhile.
#[derive(Debug)]
pub struct Current<T> {
    value: RwLock<Arc<T>>,
}

impl<T> Current<T> {
    /// Hold `value`.
    pub fn new(value: T) -> Self {
        Current { value: RwLock::new(Arc::new(value)) }
    }

    /// The value now.
    pub fn get(&self) -> Arc<T> {
        match self.value.read() {
            Ok(v) => Arc::clone(&v),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replace the value.
    pub fn set(&self, value: T) {
        match self.value.write() {
            Ok(mut v) => *v = Arc::new(value),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(value),
        }
    }
}
