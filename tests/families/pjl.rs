//! The PJL + PCL family against the simulated passport printer over TCP: the shared outcome
//! cases (the family's own cases — PTY, link loss, cancels mid-transfer — are in
//! `tests/printer.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pstation_sim::{Printer, parse_control, serve};

use super::{Fault, Rig};

/// The simulator on an ephemeral port, every connection served.
pub struct Pjl {
    addr: std::net::SocketAddr,
    printer: Arc<Printer>,
    jobs: Arc<AtomicUsize>,
}

impl Pjl {
    pub async fn start() -> Self {
        // 50 ms warm-up, 100 ms a booklet, no pacing: the shared fast simulator.
        let opts = crate::printer::fast();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let printer = Printer::new(opts);
        let jobs = Arc::new(AtomicUsize::new(0));
        let mut records = printer.subscribe_records();
        let count = jobs.clone();
        tokio::spawn(async move {
            while records.recv().await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        let served = printer.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let p = served.clone();
                tokio::spawn(async move {
                    let _ = serve(p, sock, pstation_sim::no_control()).await;
                });
            }
        });
        Self {
            addr,
            printer,
            jobs,
        }
    }

    async fn send(&self, word: &str) {
        let c = parse_control(word).expect("control word");
        self.printer.control(&c).await;
    }
}

impl Rig for Pjl {
    fn uri(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    async fn fault(&mut self, fault: Fault) {
        self.send(match fault {
            Fault::Jam => "jam@page1",
            // END reports one page fewer than printed: none of our one.
            Fault::Lie => "end=wrong-pages",
            // The printer's resources failed mid-job.
            Fault::Abort => "end=resource-canceled",
        })
        .await;
    }

    async fn clear(&mut self) {
        self.send("clear").await;
    }

    fn received(&self) -> usize {
        self.jobs.load(Ordering::SeqCst)
    }
}

super::outcome_cases!(Pjl::start().await);
