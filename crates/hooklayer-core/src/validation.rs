//! The error every body parser returns: which property is wrong and whether it is missing or
//! has a bad value. The API maps it to the Layer `missing_property` / `invalid_property` body.

/// Missing (absent or `null`) or present with a bad value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyErrorKind {
    Missing,
    Invalid,
}

/// A property that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyError {
    pub kind: PropertyErrorKind,
    /// The property's path, e.g. `target_url` or `message.id`.
    pub property: String,
    /// One plain sentence, e.g. `The target_url property must be an https URL.`
    pub message: String,
    /// For a batch: the index of the offending element.
    pub index: Option<usize>,
}

impl PropertyError {
    /// `The <property> property cannot be omitted.`
    pub fn missing(property: &str) -> Self {
        Self {
            kind: PropertyErrorKind::Missing,
            property: property.to_owned(),
            message: format!("The {property} property cannot be omitted."),
            index: None,
        }
    }

    /// A bad value; `message` is the whole sentence.
    pub fn invalid(property: &str, message: impl Into<String>) -> Self {
        Self {
            kind: PropertyErrorKind::Invalid,
            property: property.to_owned(),
            message: message.into(),
            index: None,
        }
    }

    /// The same error, located at element `index` of a batch.
    pub fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

impl std::fmt::Display for PropertyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PropertyError {}
