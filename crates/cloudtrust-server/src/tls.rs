//! HTTPS: a real certificate (`tls_cert` / `tls_key`), or a development CA and a certificate
//! for every host real clients hard-code (`serve --tls-dev`), so that an unmodified client
//! talks to cloudtrust through a hosts-file entry and trusts it through the CA.
//!
//! The development CA's private key signs the one certificate and is then thrown away: the CA
//! in the data dir can vouch for cloudtrust's certificate and for nothing else.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::config::Config;
use crate::domain::customers::Region;
use crate::error::{Error, Result};

/// The development CA's certificate, in the data dir: what clients are told to trust.
pub const DEV_CA_FILE: &str = "cloudtrust-dev-ca.pem";
/// The development server certificate, in the data dir.
pub const DEV_CERT_FILE: &str = "cloudtrust-dev-tls.pem";
/// Its private key, in the data dir (mode 0600).
pub const DEV_KEY_FILE: &str = "cloudtrust-dev-tls.key";

/// The hosts real clients call (WIRE.md §1), besides the configured regional hosts.
pub const CLIENT_HOSTS: &[&str] = &[
    "api-us.cloud.com",
    "api-eu.cloud.com",
    "api-ap-s.cloud.com",
    "api.citrixcloud.jp",
    "api.cloud.com",
    "trust.citrixworkspacesapi.net",
    "trust.citrixworkspacesapi.us",
    "cws.citrixworkspacesapi.net",
    "accounts.cloud.com",
    "smart.cloud.com",
];

/// A certificate chain and key to serve, PEM.
#[derive(Debug, Clone)]
pub struct ServerCertificate {
    /// The certificate (chain), PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
}

/// The development certificates in a data dir.
#[derive(Debug, Clone)]
pub struct DevCertificates {
    /// Where the CA certificate is.
    pub ca_path: PathBuf,
    /// The hosts the server certificate names.
    pub hosts: Vec<String>,
    /// The server certificate.
    pub server: ServerCertificate,
}

/// Every host the development certificate names: the client hosts, the configured regional
/// and global hosts, `*.cloud.com` (Workspace's per-customer hosts) and loopback.
pub fn dev_hosts(config: &Config) -> Vec<String> {
    let regional = [
        config.region_hosts.host(Region::Us),
        config.region_hosts.host(Region::Eu),
        config.region_hosts.host(Region::ApS),
        config.region_hosts.host(Region::Jp),
        config.global_host(),
    ];
    let mut hosts: Vec<String> = CLIENT_HOSTS
        .iter()
        .copied()
        .chain(regional.into_iter().flatten())
        .chain(["*.cloud.com", "localhost", "127.0.0.1", "::1"])
        .map(str::to_ascii_lowercase)
        .collect();
    hosts.dedup();
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    hosts
}

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("development certificate: {e}"))
}

/// Writes a certificate, which anyone may read.
fn write_public(path: &Path, contents: &str) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// The development certificates of `data_dir`, made on first use for `hosts`. Delete the
/// three files to make new ones (for other hosts).
pub fn ensure_dev_certificates(data_dir: &Path, hosts: &[String]) -> Result<DevCertificates> {
    let ca_path = data_dir.join(DEV_CA_FILE);
    let cert_path = data_dir.join(DEV_CERT_FILE);
    let key_path = data_dir.join(DEV_KEY_FILE);
    if ca_path.exists() && cert_path.exists() && key_path.exists() {
        crate::private_files::check_secret_file(&key_path).map_err(Error::internal)?;
        return Ok(DevCertificates {
            server: ServerCertificate {
                cert_pem: fs::read(&cert_path)?,
                key_pem: fs::read(&key_path)?,
            },
            ca_path,
            hosts: hosts.to_vec(),
        });
    }
    crate::private_files::create_dir(data_dir)?;
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cloudtrust development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(tls_error)?;
    let mut params = CertificateParams::new(hosts.to_vec()).map_err(tls_error)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "cloudtrust development server");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server_cert = params.signed_by(&server_key, &issuer).map_err(tls_error)?;

    let cert_pem = format!("{}{}", server_cert.pem(), ca_cert.pem());
    let key_pem = server_key.serialize_pem();
    crate::private_files::replace(&key_path, key_pem.as_bytes())
        .map_err(|e| Error::internal(format!("{}: {e}", key_path.display())))?;
    write_public(&cert_path, &cert_pem)?;
    write_public(&ca_path, &ca_cert.pem())?;
    Ok(DevCertificates {
        ca_path,
        hosts: hosts.to_vec(),
        server: ServerCertificate {
            cert_pem: cert_pem.into_bytes(),
            key_pem: key_pem.into_bytes(),
        },
    })
}

/// The `/etc/hosts` line that sends the named hosts (wildcards left out) to `ip`.
pub fn hosts_line(ip: &str, hosts: &[String]) -> String {
    let names: Vec<&str> = hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !h.contains('*') && h.parse::<std::net::IpAddr>().is_err() && *h != "localhost")
        .collect();
    format!("{ip} {}", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_made_once_and_name_every_client_host() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hosts = dev_hosts(&Config::default());
        assert!(hosts.iter().any(|h| h == "api-us.cloud.com"));
        assert!(hosts.iter().any(|h| h == "smart.cloud.com"));
        let first = ensure_dev_certificates(dir.path(), &hosts).expect("made");
        let again = ensure_dev_certificates(dir.path(), &hosts).expect("read");
        assert_eq!(first.server.cert_pem, again.server.cert_pem);
        let ca = fs::read_to_string(&first.ca_path).expect("ca");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(DEV_KEY_FILE))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let line = hosts_line("127.0.0.1", &hosts);
        assert!(line.starts_with("127.0.0.1 api-us.cloud.com "));
        assert!(!line.contains('*'));
    }
}
