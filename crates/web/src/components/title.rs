//! The document title. Screen readers announce it after a client-side navigation, and it names
//! the browser tab, so every page sets its own.

/// The product name, shown in the header and at the end of every title.
pub const PRODUCT_NAME: &str = "SlideRule Private Clusters";

/// The title for a page: its own name first, so tabs stay distinguishable when narrow.
pub fn page_title(page: &str) -> String {
    if page.is_empty() {
        PRODUCT_NAME.to_owned()
    } else {
        format!("{page} · {PRODUCT_NAME}")
    }
}

/// Sets the document title for the current page.
pub fn set_page_title(page: &str) {
    leptos::prelude::document().set_title(&page_title(page));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_name_comes_first() {
        assert_eq!(page_title(""), PRODUCT_NAME);
        assert_eq!(page_title("Report"), format!("Report · {PRODUCT_NAME}"));
    }
}
