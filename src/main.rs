//! The `hyperfleet` binary: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use hyperfleet::api::openapi;
use hyperfleet::cli::{Cli, Command, OpenapiFormat};
use hyperfleet::config::{DatabaseSettings, Settings};
use hyperfleet::startup::Application;
use hyperfleet::{build_info, client, memory, migrate, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.logging.log_level, cli.logging.log_format);
    let code = match cli.command {
        Command::Version => {
            println!("{}", build_info::version_line());
            0
        }
        Command::Openapi(args) => print_openapi(args.format),
        Command::Client(command) => runtime().block_on(client::run(command)),
        Command::Migrate(args) => match DatabaseSettings::from_args(&args.database) {
            Ok(settings) => runtime().block_on(migrate::run(&settings)),
            Err(e) => fail(e.exit_code, &e.message),
        },
        Command::Serve(args) => match Settings::from_serve_args(&args) {
            Ok(settings) => {
                memory::return_freed_memory();
                runtime().block_on(serve(settings))
            }
            Err(e) => fail(e.exit_code, &e.message),
        },
    };
    ExitCode::from(code)
}

fn print_openapi(format: OpenapiFormat) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = match format {
        OpenapiFormat::Yaml => out.write_all(openapi::YAML),
        OpenapiFormat::Json => out.write_all(openapi::JSON).and_then(|()| out.write_all(b"\n")),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => fail(1, &format!("cannot write the OpenAPI document: {e}")),
    }
}

fn fail(code: i32, message: &str) -> u8 {
    eprintln!("hyperfleet: error: {message}");
    code as u8
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

async fn serve(settings: Settings) -> u8 {
    let app = match Application::build(settings, Vec::new()).await {
        Ok(app) => app,
        Err(e) => return fail(1, &e.to_string()),
    };
    let shutdown = app.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.trigger();
        wait_for_signal().await;
        tracing::warn!("second shutdown signal: exiting at once");
        std::process::exit(1);
    });
    app.run_until_stopped().await as u8
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the process can only be killed; keep serving.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM"),
        _ = int.recv() => tracing::info!("received SIGINT"),
    }
}
