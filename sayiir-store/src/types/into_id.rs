//! [`IntoInstanceId`]: what methods taking an instance id accept.

use super::InstanceId;
use crate::error::InvalidId;

/// What the engine's methods accept as an instance id: a string (`&str`, `String`, `&String`,
/// any `&T` with `T: AsRef<str>`), validated once by [`InstanceId::new`], or an
/// [`InstanceId`] (owned or borrowed), which is valid already and is not validated again.
///
/// ```
/// # use sayiir_store::{InstanceId, IntoInstanceId};
/// let id = InstanceId::new("order-1").unwrap();
/// assert_eq!("order-1".into_instance_id().unwrap(), id);
/// assert_eq!((&id).into_instance_id().unwrap(), id);
/// assert!(" padded ".into_instance_id().is_err());
/// ```
///
/// Sealed: implemented for those types only.
pub trait IntoInstanceId: sealed::Sealed {
    /// The id, validated.
    fn into_instance_id(self) -> Result<InstanceId, InvalidId>;
}

impl IntoInstanceId for InstanceId {
    fn into_instance_id(self) -> Result<InstanceId, InvalidId> {
        Ok(self)
    }
}

impl IntoInstanceId for &InstanceId {
    fn into_instance_id(self) -> Result<InstanceId, InvalidId> {
        Ok(self.clone())
    }
}

impl IntoInstanceId for String {
    fn into_instance_id(self) -> Result<InstanceId, InvalidId> {
        InstanceId::new(self)
    }
}

impl<T: AsRef<str> + ?Sized> IntoInstanceId for &T {
    fn into_instance_id(self) -> Result<InstanceId, InvalidId> {
        InstanceId::new(self.as_ref())
    }
}

mod sealed {
    use super::InstanceId;

    pub trait Sealed {}
    impl Sealed for InstanceId {}
    impl Sealed for &InstanceId {}
    impl Sealed for String {}
    impl<T: AsRef<str> + ?Sized> Sealed for &T {}
}
