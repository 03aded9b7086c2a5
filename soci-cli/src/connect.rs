//! How commands reach registries: the flags, turned into a [`soci_registry::Connection`].

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Args;
use soci_registry::{Connection, Credentials, ImageRef};

use crate::advice::{PlainHttp, Side};
use crate::refs::{RefArg, shell_quote};

/// Flags of every command that reads or writes images.
/// Each under the "Registry" heading by its own attribute: a `next_help_heading` on the struct
/// would go on to head the flags and arguments of the command that come after it.
#[derive(Args, Clone, Debug)]
pub(crate) struct ConnectArgs {
    /// Speak plain HTTP instead of HTTPS to every registry named (a local registry such as
    /// `127.0.0.1:5000`).
    #[arg(long, visible_alias = "insecure", help_heading = "Registry")]
    pub(crate) plain_http: bool,
    /// Log in as this user (the password is read from stdin, see --password-stdin). Without
    /// it: ECR's token for *.dkr.ecr.* hosts, else docker's config.json and credential helpers,
    /// else anonymous.
    #[arg(
        long,
        short = 'u',
        requires = "password_stdin",
        help_heading = "Registry"
    )]
    pub(crate) username: Option<String>,
    /// Read the password for --username from the first line of stdin.
    #[arg(long, requires = "username", help_heading = "Registry")]
    pub(crate) password_stdin: bool,
    /// The ECR API endpoint that gives *.dkr.ecr.* registries their token (a FIPS or VPC
    /// endpoint). Without it, the AWS SDK's settings: AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL, the
    /// profile's endpoint_url, else AWS's own.
    #[arg(long, value_name = "URL", help_heading = "Registry")]
    pub(crate) ecr_endpoint: Option<String>,
    /// Connections a layer of two ranges or more is read over at once, as ranges of
    /// --range-size reassembled in order (memory: this many ranges at a time). 1 reads every
    /// layer as one stream.
    #[arg(long, value_name = "N", default_value_t = 16, help_heading = "Registry", value_parser = clap::value_parser!(u8).range(1..=64))]
    pub(crate) connections: u8,
    /// The size of those ranges, in MiB: smaller ones start handing bytes on sooner, larger
    /// ones take fewer requests.
    #[arg(long, value_name = "MIB", default_value_t = 4, help_heading = "Registry", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) range_size: u16,
}

impl ConnectArgs {
    /// The flags that decide how registries are reached, as they would be typed again (each
    /// with a leading space): a suggested command must reach the registry this one did.
    pub(crate) fn typed(&self) -> String {
        let mut flags = String::new();
        if self.plain_http {
            flags.push_str(" --plain-http");
        }
        if let Some(user) = &self.username {
            flags.push_str(&format!(
                " --username {} --password-stdin",
                shell_quote(user)
            ));
        }
        if let Some(endpoint) = &self.ecr_endpoint {
            flags.push_str(&format!(" --ecr-endpoint {}", shell_quote(endpoint)));
        }
        flags
    }

    /// The connection these flags describe; reads the password from stdin when asked to.
    pub(crate) fn connection(&self) -> anyhow::Result<Connection> {
        let credentials = match &self.username {
            Some(user) => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from stdin")?;
                let password = line.trim_end_matches(['\r', '\n']);
                if password.is_empty() {
                    bail!("--password-stdin: stdin held no password");
                }
                Some(Credentials::basic(user, password, "--username"))
            }
            None => None,
        };
        let mut connection = Connection::default();
        connection.plain_http = self.plain_http;
        connection.credentials = credentials;
        connection.ecr_endpoint.clone_from(&self.ecr_endpoint);
        connection.parallel.connections = usize::from(self.connections);
        connection.parallel.range_size = u64::from(self.range_size) << 20;
        Ok(connection)
    }
}

/// Plain HTTP for one side only, for the commands that read SOURCE and write DEST (`create`,
/// `convert`), as skopeo's `--src-tls-verify` and `--dest-tls-verify`: with --plain-http alone,
/// Docker Hub or ECR to a local HTTP registry (or back) could not work, since one of the two
/// speaks only HTTPS.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Registry")]
pub(crate) struct SideArgs {
    /// Speak plain HTTP to SOURCE's registry only (e.g. from a local registry to ECR).
    #[arg(long)]
    pub(crate) src_plain_http: bool,
    /// Speak plain HTTP to DEST's registry only (e.g. from Docker Hub into a local registry).
    #[arg(long)]
    pub(crate) dest_plain_http: bool,
}

impl SideArgs {
    /// The connections to SOURCE's and DEST's registries: the same credentials (the password is
    /// read once), plain HTTP where --plain-http or the side's own flag asks for it.
    pub(crate) fn connections(
        &self,
        connect: &ConnectArgs,
    ) -> anyhow::Result<(Connection, Connection)> {
        let source = connect.connection()?;
        let mut dest = source.clone();
        dest.plain_http |= self.dest_plain_http;
        let mut source = source;
        source.plain_http |= self.src_plain_http;
        Ok((source, dest))
    }

    /// How each side's registry is spoken to, for the hints of a transport error.
    pub(crate) fn plain_http(
        &self,
        connect: &ConnectArgs,
        source: &RefArg,
        dest: Option<&RefArg>,
    ) -> PlainHttp {
        let side = |reference: &RefArg, own: bool| Side {
            registry: match &reference.parsed {
                ImageRef::Registry(r) => Some(r.registry.clone()),
                ImageRef::Layout { .. } | ImageRef::Archive { .. } => None,
            },
            plain_http: connect.plain_http || own,
        };
        PlainHttp::Sides {
            source: side(source, self.src_plain_http),
            dest: side(dest.unwrap_or(source), self.dest_plain_http),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    #[test]
    fn connections_default_to_the_librarys() {
        let flags = Flags::parse_from(["socix"]);
        let connection = flags.connect.connection().unwrap();
        assert_eq!(connection.parallel, soci_registry::ParallelReads::default());
        let flags = Flags::parse_from(["socix", "--connections", "1", "--range-size", "16"]);
        let parallel = flags.connect.connection().unwrap().parallel;
        assert_eq!((parallel.connections, parallel.range_size), (1, 16 << 20));
        assert!(Flags::try_parse_from(["socix", "--connections", "0"]).is_err());
        assert!(Flags::try_parse_from(["socix", "--range-size", "0"]).is_err());
    }
}
