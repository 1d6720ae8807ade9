fn main() -> std::process::ExitCode {
    nats_post::main()
}
