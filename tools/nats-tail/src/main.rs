fn main() -> std::process::ExitCode {
    nats_tail::main()
}
