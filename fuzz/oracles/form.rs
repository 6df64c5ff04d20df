//! What the fuzz targets of form bodies expect, read independently of the server's decoder.

/// Whether some name or value of `body` does not decode to UTF-8 (`+` a space, `%XX` a byte),
/// which the WHATWG parser would hide by replacing the bytes with U+FFFD and the server refuses.
/// Every run between `&` and `=` is checked: an ASCII `=` never splits a character, so a pair
/// decodes to UTF-8 exactly when each of its runs does.
pub fn holds_non_utf8(body: &[u8]) -> bool {
    body.split(|&b| b == b'&').any(|pair| {
        pair.split(|&b| b == b'=').any(|part| {
            let spaced: Vec<u8> = part
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            percent_encoding::percent_decode(&spaced)
                .decode_utf8()
                .is_err()
        })
    })
}
