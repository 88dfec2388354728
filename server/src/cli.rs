//! The `attesta` command line.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration.

use crate::config::Config;
use crate::{Application, shutdown_signal, telemetry};
use attesta_core::Role;
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "attesta", version, about = "Self-hostable e-signatures with evidence anyone can check", long_about = None)]
pub struct Cli {
    /// Configuration file; skipped when it does not exist. Environment variables named
    /// ATTESTA__SECTION__KEY override it.
    #[arg(long, global = true, default_value = "attesta.toml", env = "ATTESTA_CONFIG")]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app.
    Serve,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the configuration and print it, secrets redacted.
    Config,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (asked for twice on a terminal),
    /// never from the command line where other users could see it. The first user is the owner.
    Create {
        /// Email address the user signs in with.
        #[arg(long)]
        email: String,
        /// The user's name as shown in the app.
        #[arg(long)]
        name: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(&cli.config, std::env::vars()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("attesta: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&loaded.config.log);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("attesta: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = loaded.config;
    match cli.command {
        Command::Serve => runtime.block_on(serve(config)),
        Command::User(UserCommand::Create { email, name, role }) => {
            runtime.block_on(create_user(config, &email, &name, &role))
        }
        Command::Config => {
            print!("{}", config.to_redacted_toml());
            ExitCode::SUCCESS
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %app.public_origin(), "Attesta is serving at {}", app.public_origin());
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn create_user(config: Config, email: &str, name: &str, role: &str) -> ExitCode {
    let role = match Role::parse(role) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("attesta: --role: {e}");
            return ExitCode::from(2);
        }
    };
    let password = match read_password() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("attesta: {e}");
            return ExitCode::from(2);
        }
    };
    let service = match crate::account_service(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("attesta: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match service.create_user(name, email, &password, role).await {
        Ok(user) => {
            println!("created {} <{}> as {}", user.name.as_str(), user.email, user.role);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("attesta: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Repeat the password: ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the two passwords differ".to_owned());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err("no password on standard input".to_owned());
        }
        Ok(password)
    }
}
