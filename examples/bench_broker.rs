//! The RabbitMQ side of `make bench`'s `create_broker` scenario (bench/run.sh): declares the
//! exchange as the service does plus a durable queue bound to `#`, so every published event is
//! routed and stored like in production, and removes both afterwards.
//!
//!     cargo run --example bench_broker -- bind   AMQP_URL EXCHANGE QUEUE
//!     cargo run --example bench_broker -- delete AMQP_URL EXCHANGE QUEUE   # prints the queue depth

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lapin::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, url, exchange, queue] = args.as_slice() else {
        eprintln!("usage: bench_broker bind|delete AMQP_URL EXCHANGE QUEUE");
        std::process::exit(2);
    };
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    match command.as_str() {
        "bind" => {
            let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
            channel
                .exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, durable, FieldTable::default())
                .await?;
            let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
            channel.queue_declare(queue.as_str().into(), options, FieldTable::default()).await?;
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        "delete" => {
            let depth = channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await?;
            channel.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default()).await?;
            println!("{depth}");
        }
        other => {
            eprintln!("unknown command {other:?}: bind or delete");
            std::process::exit(2);
        }
    }
    connection.close(200, "done".into()).await?;
    Ok(())
}
