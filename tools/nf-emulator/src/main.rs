fn main() -> std::process::ExitCode {
    nf_emulator::main()
}
