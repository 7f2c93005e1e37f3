//! `sliderule-backend`: see `sliderule-backend --help`.

fn main() -> std::process::ExitCode {
    sliderule_backend::cli::run()
}
