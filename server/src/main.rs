use std::process::ExitCode;

fn main() -> ExitCode {
    attesta_server::cli::main()
}
