//! Reads the API version a component was built for, from the custom section the SDK writes, without
//! compiling or instantiating anything: a plugin for an unknown API must be refused before it runs.

/// Name of the custom section written by the SDK's register macros.
pub const API_VERSION_SECTION: &str = "creatorflow:api-version";

/// The version string in the component's `creatorflow:api-version` section (searched in nested core modules
/// too, where the Rust toolchain puts it). `Ok(None)` when there is no such section.
pub fn read_api_version(wasm: &[u8]) -> Result<Option<String>, String> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| format!("not a wasm binary: {e}"))?;
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == API_VERSION_SECTION
        {
            let text = std::str::from_utf8(section.data())
                .map_err(|_| "the api-version section is not UTF-8".to_owned())?;
            return Ok(Some(text.trim_matches(char::from(0)).trim().to_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal core module with one custom section.
    fn module_with_section(name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = vec![u8::try_from(name.len()).expect("short name")];
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(0);
        wasm.push(u8::try_from(payload.len()).expect("short section"));
        wasm.extend(payload);
        wasm
    }

    #[test]
    fn finds_the_version_section() {
        let wasm = module_with_section(API_VERSION_SECTION, b"1.0.0");
        assert_eq!(read_api_version(&wasm), Ok(Some("1.0.0".into())));
        let other = module_with_section("producers", b"x");
        assert_eq!(read_api_version(&other), Ok(None));
        assert!(read_api_version(b"not wasm").is_err());
    }
}
