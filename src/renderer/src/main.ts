import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createClient } from './api/client'
import { API_CLIENT } from './api/inject'
import './styles.css'

const app = createApp(App)
app.use(createPinia())
app.provide(API_CLIENT, createClient())
app.mount('#app')
