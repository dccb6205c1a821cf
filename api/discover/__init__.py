"""The reference discovery page (map, list, chat), served by the app; its front-end source is in web/."""
