fn main() -> std::process::ExitCode {
    fswatch_json::main()
}
