//! JUnit XML report (SPEC §5). Placeholder until the report branch lands.
pub fn write(_r: &crate::run::result::RunReport, _p: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
