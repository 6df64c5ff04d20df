//! The mail drop: one `.eml` file per message in `mail_dir`, for a mail transfer agent or a
//! developer to pick up.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::message::Outgoing;

/// Writes the message as its own file (readable by the owner only on unix: an invitation
/// holds a secret link), never over an existing file.
pub(super) fn write_to_mail_drop(dir: &Path, outgoing: &Outgoing) {
    let path = dir.join(&outgoing.file_name);
    let written = fs::create_dir_all(dir).and_then(|()| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(&path)?
            .write_all(&outgoing.message.formatted())
    });
    let (about, what) = (&outgoing.about, outgoing.what);
    match written {
        Ok(()) => tracing::info!(%about, "{what} written to the mail drop"),
        Err(e) => tracing::warn!(
            %about,
            error = %e,
            "writing the {what} to the mail drop failed"
        ),
    }
}
