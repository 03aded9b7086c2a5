//! How commands reach registries: the flags, turned into a [`soci_registry::Connection`].

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Args;
use soci_registry::{Connection, Credentials};

/// Flags of every command that reads or writes images.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Registry")]
pub(crate) struct ConnectArgs {
    /// Speak plain HTTP instead of HTTPS (a local registry such as `127.0.0.1:5000`).
    #[arg(long, visible_alias = "insecure")]
    pub(crate) plain_http: bool,
    /// Log in as this user (the password is read from stdin, see --password-stdin). Without
    /// it: ECR's token for *.dkr.ecr.* hosts, else docker's config.json and credential helpers,
    /// else anonymous.
    #[arg(long, short = 'u', requires = "password_stdin")]
    pub(crate) username: Option<String>,
    /// Read the password for --username from the first line of stdin.
    #[arg(long, requires = "username")]
    pub(crate) password_stdin: bool,
}

impl ConnectArgs {
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
        Ok(Connection {
            plain_http: self.plain_http,
            credentials,
            ..Connection::default()
        })
    }
}
