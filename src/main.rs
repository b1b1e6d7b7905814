use clap::Parser;

fn main() {
    let cli = agenttest::cli::Cli::parse();
    std::process::exit(agenttest::app::main(cli.command));
}
