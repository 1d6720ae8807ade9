fn main() -> std::process::ExitCode {
    nf_upload::main()
}
