//! Where secrets live on disk: the data dir is created readable by its owner only; a file
//! holding a secret (the key-encryption key, a development TLS key) is created new, never
//! through a symbolic link, readable by its owner only; and it is refused when it is a
//! symbolic link, belongs to another user or others may write it — someone who can replace it
//! chooses the key.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Creates `path` (and its parents) as a folder only its owner may enter (`0700`). An
/// existing folder is left as it is.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates the secret file `path`, which must not exist yet (`O_EXCL`: not even as a
/// symbolic link, `O_NOFOLLOW`), readable and writable by its owner only.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// Writes the secret file `path` whole, replacing any file (or link) there: the contents go
/// to a new file beside it, made with [`create_new`] and synced, which is then renamed over
/// `path` — a reader sees the old contents or the new, never half, and a link planted at
/// either name is replaced, not followed.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temporary = sibling(path, ".tmp");
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = create_new(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// `path` with `suffix` added to its file name (`cloudtrust.kek` → `cloudtrust.kek.new`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Why the secret file at `path` must not be read, if it must not; `Ok` when it is absent.
pub fn check_secret_file(path: &Path) -> Result<(), String> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if metadata.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link; a file holding a secret must be a plain file",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let me = rustix::process::geteuid().as_raw();
        if metadata.uid() != me {
            return Err(format!(
                "{} belongs to another user (uid {}, this process runs as uid {me}); a file \
                 holding a secret must belong to the user that reads it",
                path.display(),
                metadata.uid()
            ));
        }
        if metadata.permissions().mode() & 0o022 != 0 {
            return Err(format!(
                "{} may be written by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn secret_files_written_by_others_or_linked_are_refused_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data");
        create_dir(&dir).expect("created");
        let mode = std::fs::metadata(&dir)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = dir.join("secret");
        assert!(check_secret_file(&file).is_ok(), "absent is fine");
        std::fs::write(&file, "x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(check_secret_file(&file).is_ok());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        assert!(check_secret_file(&file).is_err(), "writable by others");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(check_secret_file(&link).is_err(), "a link");
    }

    /// A file of another user is refused. Giving a file away needs root: elsewhere the test
    /// proves nothing and says so.
    #[cfg(unix)]
    #[test]
    fn secret_files_of_another_user_are_refused() {
        let root = tempfile::tempdir().expect("temp dir");
        let file = root.path().join("secret");
        create_new(&file).expect("created");
        assert!(check_secret_file(&file).is_ok(), "our own file");
        let other = rustix::process::Uid::from_raw(65534);
        if rustix::fs::chown(&file, Some(other), None).is_err() {
            eprintln!("skipped: only root can give a file to another user");
            return;
        }
        let refused = check_secret_file(&file).expect_err("another user's file");
        assert!(refused.contains("belongs to another user"), "{refused}");
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_made_new_private_and_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let target = root.path().join("elsewhere");
        std::fs::write(&target, "theirs").expect("write");
        let planted = root.path().join("secret");
        std::os::unix::fs::symlink(&target, &planted).expect("symlink");

        assert!(create_new(&planted).is_err(), "a link is not followed");
        assert!(
            create_new(&target).is_err(),
            "an existing file is not reused"
        );

        replace(&planted, b"mine").expect("replaced");
        assert_eq!(std::fs::read(&target).expect("read"), b"theirs");
        let metadata = std::fs::symlink_metadata(&planted).expect("metadata");
        assert!(
            metadata.file_type().is_file(),
            "the link itself was replaced"
        );
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&planted).expect("read"), b"mine");
        assert!(!sibling(&planted, ".tmp").exists());
    }
}
