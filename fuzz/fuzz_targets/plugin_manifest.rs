//! Any text as a plugin manifest: every problem reported, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = creatorflow_plugin_host::Manifest::parse(text);
    }
});
