use clap::Parser;

fn main() {
    let cli = agenttest::cli::Cli::parse();
    let code = match cli.command {
        agenttest::cli::Command::Mock(args) => agenttest::mock::cli_main(args),
        _ => agenttest::exit::USAGE,
    };
    std::process::exit(code);
}
