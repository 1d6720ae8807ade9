fn main() -> std::process::ExitCode {
    path_filter::main()
}
