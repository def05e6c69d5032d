fn main() {
    println!("Hello from {}!", std::env::consts::ARCH);
}
