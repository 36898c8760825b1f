//! Running Bazaar as it is deployed: the real binary (`cli`), its graceful shutdown
//! (`lifecycle`), several replicas sharing MongoDB and Redis (`replicas`), a Redis Cluster
//! (`cluster`) and a primary of it failing over (`failover`), and MongoDB elections
//! (`elections`).

mod cli;
mod cluster;
mod elections;
mod failover;
mod lifecycle;
mod replicas;
