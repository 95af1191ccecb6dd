//! The `sayiir` command line: see and act on workflow instances in a store. `sayiir --help`
//! lists the commands and the exit codes; the `sayiir-cli` crate's docs describe them.

fn main() -> std::process::ExitCode {
    sayiir_cli::standalone()
}
