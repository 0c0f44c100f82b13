//! One module per supported plugin API version. Each owns its generated bindings and converts them to the
//! host-neutral [`crate::model`]; nothing outside this directory names a generated type.

pub(crate) mod v1;

/// The plugin API versions this host runs, as shown in refusal messages.
pub const SUPPORTED_API: &str = "1.0.x";

/// Which binding module serves a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    V1,
}

/// Picks the binding module for `version`. Minor versions add interfaces, so a host serves exactly the
/// `major.minor` lines it has modules for; any patch of them.
pub(crate) fn resolve(version: &str) -> Option<ApiVersion> {
    let v = semver::Version::parse(version).ok()?;
    (v.major == 1 && v.minor == 0 && v.pre.is_empty()).then_some(ApiVersion::V1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_lines_resolve() {
        assert_eq!(resolve("1.0.0"), Some(ApiVersion::V1));
        assert_eq!(resolve("1.0.7"), Some(ApiVersion::V1));
        assert_eq!(resolve("1.1.0"), None);
        assert_eq!(resolve("2.0.0"), None);
        assert_eq!(resolve("1.0.0-rc.1"), None);
        assert_eq!(resolve("one"), None);
    }
}
