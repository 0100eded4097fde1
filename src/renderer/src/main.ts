import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createClient } from './api/client'
import { API_CLIENT } from './api/inject'
import { createAppRouter } from './router'
import './styles.css'

const app = createApp(App)
const router = createAppRouter()
app.use(createPinia())
app.use(router)
app.provide(API_CLIENT, createClient())
// mount once the first address is resolved, so the first frame already shows the view it names
void router.isReady().then(() => app.mount('#app'))
