//! The clustering methods, each on a scaled `FeatureMatrix`: k-means (our kernel), the k-means
//! Lloyd step as sums that can be combined across workers, the mini-batch update, Gaussian
//! mixtures and DBSCAN (linfa's, with our restarts and rules), and Ward (ours). A method returns
//! labels and its own rule (centres, mixture, core points); `model::fit` turns that into a stored
//! model.

pub mod dbscan;
pub mod gmm;
pub mod kmeans;
pub mod lloyd_step;
pub mod minibatch;
pub mod ward;
