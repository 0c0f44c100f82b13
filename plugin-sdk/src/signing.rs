//! Request and webhook signing through the host. The key is always a secret *name*: the host computes the
//! MAC, so a plugin can sign and verify without ever holding the secret.

use crate::host::{self, MessagePart};

/// Literal bytes in an HMAC message.
pub fn bytes(b: impl Into<Vec<u8>>) -> MessagePart {
    MessagePart::Bytes(b.into())
}

/// Literal text in an HMAC message.
pub fn text(s: &str) -> MessagePart {
    MessagePart::Bytes(s.as_bytes().to_vec())
}

/// The named secret's bytes, spliced in by the host (for schemes like `secret + payload + secret`).
pub fn secret(name: &str) -> MessagePart {
    MessagePart::Secret(name.to_owned())
}

/// Lower-case hex HMAC-SHA256 keyed with secret `key`.
pub fn hmac_hex(key: &str, message: &[MessagePart]) -> String {
    hex(&host::hmac_sha256(key, message))
}

/// Standard base64 HMAC-SHA256 keyed with secret `key` (Shopify-style webhook signatures).
pub fn hmac_base64(key: &str, message: &[MessagePart]) -> String {
    base64(&host::hmac_sha256(key, message))
}

/// Whether `provided` (hex, any case) is the HMAC of `message` under secret `key`, compared in constant time.
pub fn verify_hex(key: &str, message: &[MessagePart], provided: &str) -> bool {
    constant_time_eq(
        hmac_hex(key, message).as_bytes(),
        provided.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// Whether `provided` (standard base64) is the HMAC of `message` under secret `key`, in constant time.
pub fn verify_base64(key: &str, message: &[MessagePart], provided: &str) -> bool {
    constant_time_eq(
        hmac_base64(key, message).as_bytes(),
        provided.trim().as_bytes(),
    )
}

/// Compares without an early exit, so timing does not reveal how many leading bytes matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeHost;

    #[test]
    fn encodings_match_known_values() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn hmac_goes_through_the_host_with_the_named_secret() {
        // RFC 4231 test case 2: key "Jefe".
        let _host = FakeHost::new().secret("app_secret", "Jefe").install();
        let mac = hmac_hex(
            "app_secret",
            &[text("what do ya want "), text("for nothing?")],
        );
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hex(
            "app_secret",
            &[text("what do ya want for nothing?")],
            "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
        ));
        assert!(!verify_hex("app_secret", &[text("tampered")], &mac));
    }

    #[test]
    fn secrets_can_be_spliced_into_the_message() {
        let _host = FakeHost::new()
            .secret("k", "key")
            .secret("s", "XY")
            .install();
        let spliced = hmac_hex("k", &[secret("s"), text("body"), secret("s")]);
        let literal = {
            let _inner = FakeHost::new().secret("k", "key").install();
            hmac_hex("k", &[text("XYbodyXY")])
        };
        assert_eq!(spliced, literal);
    }
}
